// The Vietnamese names of the API's codes (states, methods, questionnaires, filters).

export const PHASE_STATES = { open: 'Đang mở', upcoming: 'Chưa mở', closed: 'Đã khóa' };

export const ROSTER_STATUS = { draft: 'Bản nháp', submitted: 'Đã gửi Bộ Nội vụ' };

export const QUESTIONNAIRES = { locality: 'Địa phương', ministry: 'Bộ chủ quản' };

/** The status filter of the progress table (API values → Vietnamese). */
export const PROGRESS_FILTERS = {
  pending: 'Chưa trả lời',
  not_sent: 'Chưa gửi thư',
  sent: 'Đã gửi thư, chưa mở',
  opened: 'Đã mở phiếu, chưa gửi',
  submitted: 'Đã trả lời',
  bounced: 'Thư bị trả lại',
};

export const LINK_STATES = {
  issued: 'Chưa gửi', sent: 'Đã gửi', opened: 'Đã mở', submitted: 'Đã trả lời', bounced: 'Thư bị trả lại',
  failed: 'Gửi lỗi',
};

export const ASSESSMENT_STATES = {
  draft: 'Đang nhập',
  approved: 'Đã phê duyệt',
  locked: 'Đã khóa',
};

export const METHODS = {
  self: 'Tự chấm, thẩm định',
  survey: 'Điều tra xã hội học',
  imported: 'Nguồn khác (SIPAS, KT-XH…)',
};

