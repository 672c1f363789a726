// Evidence files of a self-assessment: the kinds accepted, the checks before an upload, and the two-step upload
// (the API hands out a presigned POST, the browser posts the file there).

import * as api from './api.js';
import { formatMegabytes } from './format.js';

export const EVIDENCE_MAX_BYTES = 20 * 1024 * 1024;
const TYPES = {
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: api.XLSX_TYPE,
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
};
export const EVIDENCE_ACCEPT = Object.keys(TYPES).map((ext) => `.${ext}`).join(',');
export const EVIDENCE_KINDS = 'PDF, Word (.doc, .docx), Excel (.xls, .xlsx), ảnh JPEG hoặc PNG; tối đa 20 MB';

function extension(name) {
  const match = /\.([A-Za-z0-9]+)$/.exec(String(name || ''));
  return match ? match[1].toLowerCase() : '';
}

/** The file's type as the storage will be told: by its extension (Windows often gives none for Office files). */
export function contentTypeOf(file) {
  return TYPES[extension(file.name)] || file.type || 'application/octet-stream';
}

/** Why a file cannot be evidence, or null. */
export function evidenceProblem(file, maxBytes = EVIDENCE_MAX_BYTES) {
  if (!file) return 'Vui lòng chọn tệp.';
  if (!TYPES[extension(file.name)]) {
    return `Tệp “${file.name}” không đúng loại cho phép. Chỉ nhận ${EVIDENCE_KINDS}.`;
  }
  if (file.size === 0) return `Tệp “${file.name}” rỗng (0 byte). Vui lòng chọn lại.`;
  if (file.size > maxBytes) {
    return `Tệp “${file.name}” quá lớn (${formatMegabytes(file.size)}); tối đa ${formatMegabytes(maxBytes)}.`;
  }
  return null;
}

/**
 * Uploads one evidence file: the API hands out a presigned POST (checking the name, type and size), the browser
 * posts the file there with a progress bar. Resolves with the evidence id to send with the item (or the approval).
 */
export async function uploadEvidence(cid, unit, code, file, { onProgress = null } = {}) {
  const grant = await api.evidenceUpload(cid, unit, {
    code, filename: file.name, content_type: contentTypeOf(file), size: file.size });
  if (grant.max_bytes && file.size > grant.max_bytes) {
    throw new api.ApiError(413, evidenceProblem(file, grant.max_bytes));
  }
  await api.uploadToStorage(grant.url, grant.fields, file, { onProgress });
  return grant.evidence_id;
}
