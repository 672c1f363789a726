"""`make run`: the whole local stack in the foreground (docs/ARCHITECTURE.md, section 10).

moto (DynamoDB, S3, SES, SQS, EventBridge) on 127.0.0.1:$CCHC_MOTO_PORT (5055), its data restored from and
saved to .local/state/; the tables, buckets and queues bootstrapped and the campaigns and accounts seeded;
the API on 127.0.0.1:$CCHC_API_PORT (8000); the site and the outbox page on 127.0.0.1:$CCHC_SITE_PORT (8080);
the scheduled handlers every $CCHC_LOCAL_SCHEDULE_SECONDS (60) seconds and the SQS handlers fed from their
queues; every mail written to .local/outbox/. Ctrl-C or SIGTERM stops it all and saves the data.

Other settings: CCHC_LOCAL_DIR (.local: the folder of the state, the outbox and the logins),
CCHC_LOCAL_SNAPSHOT_SECONDS (3), CCHC_LOCAL_RELOAD (1: restart API and workers when app.py, chalicelib/ or
.chalice/config.json change); CCHC_LOCAL_BOUNCE and CCHC_LOCAL_COMPLAIN (comma-separated addresses
or mail domains whose mails bounce, refused by policy, or are reported as spam: every captured mail gets the SES
events it would get, through the events topic to the app's handler; see dev/mail_events.py).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dev.mail_events import CapturedEventPublisher, answers_from_env  # noqa: E402
from dev.stack import (DEFAULT_REGION, ChangeTracker, InProcessMailSource, MotoServer,  # noqa: E402
                       OutboxWriter, Persistence, SiteServer, aws_environment, child_environment,
                       port_is_free, stage_environment, wait_for_http)

_print_lock = threading.Lock()


def say(message: str = "") -> None:
    with _print_lock:
        print(message, flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"Biến môi trường {name}={value!r} phải là một số nguyên.")


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise SystemExit(f"Biến môi trường {name}={value!r} phải là một số.")


class Child:
    """A subprocess in its own process group (so it is stopped with everything it started), whose output
    is relayed to the console with a prefix."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.expected_exit = False

    def start(self) -> "Child":
        self.expected_exit = False
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.started_at = time.monotonic()
        threading.Thread(target=self._relay, args=(self.proc,), name=f"relay-{self.name}", daemon=True).start()
        return self

    def _relay(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            say(f"[{self.name}] {raw.decode('utf-8', 'replace').rstrip()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float) -> None:
        if self.proc is None:
            return
        self.expected_exit = True
        if self.proc.poll() is not None:
            return  # already gone (and reaped): its group id is no longer ours to signal
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"[{self.name}] không dừng sau {timeout:g} giây, buộc dừng.")
        # Whatever is left in its group (the process itself after a timeout, or anything it spawned).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


def source_signature(project_dir: Path) -> tuple:
    """Changes when the app's code or its stage configuration changes."""
    paths = [project_dir / "app.py", project_dir / ".chalice" / "config.json"]
    lib = project_dir / "chalicelib"
    if lib.is_dir():
        paths += [p for p in lib.rglob("*") if p.suffix in (".py", ".json", ".html", ".txt", ".j2")]
    sig = []
    for p in sorted(paths):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        sig.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(sig)


def run_cli(label: str, args: list[str], env: dict[str, str], cwd: Path) -> bool:
    say(f"• {label}…")
    # Its own session: a Ctrl-C in the terminal lets a seed finish instead of leaving it half done.
    proc = subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          start_new_session=True)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        say(f"    {line}")
    if proc.returncode != 0:
        say(f"  ✗ Lỗi: `python -m chalicelib.cli {' '.join(args)}` kết thúc với mã {proc.returncode} "
            f"(xem thông báo ở trên).")
        return False
    return True


def unit_names(project_dir: Path) -> dict[str, str]:
    path = project_dir / "chalicelib" / "data" / "reference" / "provinces-2021.json"
    try:
        return {p["code"]: p["name"] for p in json.loads(path.read_text(encoding="utf-8"))["provinces"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


class Launcher:
    def __init__(self, project_dir: Path, stage: str):
        self.project_dir = project_dir
        self.stage = stage
        self.moto_port = env_int("CCHC_MOTO_PORT", 5055)
        self.api_port = env_int("CCHC_API_PORT", 8000)
        self.site_port = env_int("CCHC_SITE_PORT", 8080)
        self.snapshot_seconds = env_float("CCHC_LOCAL_SNAPSHOT_SECONDS", 3.0)
        self.schedule_seconds = env_float("CCHC_LOCAL_SCHEDULE_SECONDS", 60.0)
        self.reload = os.environ.get("CCHC_LOCAL_RELOAD", "1").strip() not in ("0", "false", "no", "")
        local_dir = os.environ.get("CCHC_LOCAL_DIR", "").strip()
        self.local_dir = Path(local_dir).resolve() if local_dir else project_dir / ".local"
        self.state_dir = self.local_dir / "state"
        self.outbox_dir = self.local_dir / "outbox"
        self.credentials = self.local_dir / "credentials.json"
        self.stop_event = threading.Event()
        self.moto: MotoServer | None = None
        self.persistence: Persistence | None = None
        self.outbox: OutboxWriter | None = None
        self.mail_events: CapturedEventPublisher | None = None
        self.site: SiteServer | None = None
        self.children: list[Child] = []
        # The final snapshot is only taken once moto holds everything the last one had: a failed or
        # interrupted restore must never overwrite the good snapshot with a partial state.
        self.restored = False

    # ------------------------------------------------------------------ helpers
    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def site_url(self) -> str:
        return f"http://127.0.0.1:{self.site_port}"

    def _overrides(self) -> dict[str, str]:
        """Values that depend on this run's ports; they win over .chalice/config.json."""
        return {"CCHC_SITE_URL": self.site_url}

    def _env(self) -> dict[str, str]:
        env = child_environment({})
        env.update(stage_environment(self.project_dir, self.stage))
        env.update(self._overrides())
        env.update(aws_environment(self.moto_url, DEFAULT_REGION))
        env["CCHC_LOCAL_PARENT_PID"] = str(os.getpid())
        return env

    def _env_args(self) -> list[str]:
        return [arg for k, v in self._overrides().items() for arg in ("--env", f"{k}={v}")]

    def _handle_signal(self, signum, frame) -> None:
        if self.stop_event.is_set():
            say("Đang dừng và lưu dữ liệu, vui lòng chờ…")
            return
        self.stop_event.set()

    # ------------------------------------------------------------------ run
    def run(self) -> int:
        signal.signal(signal.SIGINT, self._handle_signal)
        signal.signal(signal.SIGTERM, self._handle_signal)
        say(f"Khởi động môi trường cục bộ Chỉ số CCHC (giai đoạn {self.stage})…")
        busy = [(port, var) for port, var in ((self.moto_port, "CCHC_MOTO_PORT"), (self.api_port, "CCHC_API_PORT"),
                                              (self.site_port, "CCHC_SITE_PORT")) if not port_is_free(port)]
        if len({self.moto_port, self.api_port, self.site_port}) < 3:
            say("✗ Ba cổng CCHC_MOTO_PORT, CCHC_API_PORT, CCHC_SITE_PORT phải khác nhau.")
            return 1
        for port, var in busy:
            say(f"✗ Cổng 127.0.0.1:{port} đang có chương trình khác dùng (có thể là một phiên `make run` "
                f"chưa dừng). Hãy dừng chương trình đó hoặc chọn cổng khác bằng biến môi trường {var}.")
        if busy:
            return 1
        for d in (self.local_dir, self.state_dir, self.outbox_dir):
            d.mkdir(parents=True, exist_ok=True)
        # One launcher per .local/: two would overwrite each other's snapshots.
        self._instance_lock = open(self.local_dir / "launcher.lock", "a+")
        try:
            fcntl.flock(self._instance_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"✗ Một phiên môi trường cục bộ khác đang chạy với thư mục {self.local_dir}. Hãy dừng phiên đó trước.")
            return 1
        code = 0
        try:
            self._start()
            if not self.stop_event.is_set():
                self._banner()
                self._supervise()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            say(f"✗ Không khởi động được môi trường cục bộ: {exc}")
            code = 1
        finally:
            self._shutdown()
        return code

    def _start(self) -> None:
        tracker = ChangeTracker()
        self.moto = MotoServer("127.0.0.1", self.moto_port, tracker).start()
        os.environ.update(aws_environment(self.moto_url, DEFAULT_REGION))
        say(f"• Giả lập AWS (moto: DynamoDB, S3, SES, SQS, EventBridge) chạy tại {self.moto_url}")

        self.persistence = Persistence(self.state_dir, self.moto_url, DEFAULT_REGION, tracker)
        gen = self.persistence.current()
        if gen is not None:
            started = time.monotonic()
            stats = self.persistence.restore(gen)
            say(f"• Đã khôi phục dữ liệu đã lưu ({gen.name}): {stats['tables']} bảng, {stats['items']} bản ghi, "
                f"{stats['objects']} tệp trong {time.monotonic() - started:.1f} giây")
        else:
            say("• Chưa có dữ liệu đã lưu: bắt đầu với kho dữ liệu trống.")
        self.restored = True
        if self.stop_event.is_set():
            return

        env = self._env()
        if not run_cli("Tạo bảng, bucket, hàng đợi và địa chỉ gửi thư (bootstrap)", ["bootstrap"], env,
                       self.project_dir):
            say("  Các bước sau có thể lỗi theo; API vẫn được khởi động để xem lỗi.")
        if self.stop_event.is_set():
            return
        run_cli("Nạp dữ liệu mẫu: đợt 2021, đợt demo và tài khoản (seed)",
                ["seed", "--credentials", str(self.credentials),
                 "--workbook", str(self.local_dir / "credentials.xlsx")], env, self.project_dir)
        if gen is not None:
            queued = self.persistence.restore_queues(gen)
            if queued:
                say(f"• Đã đưa lại {queued} việc còn chờ vào hàng đợi.")
        try:
            self.persistence.snapshot()
        except Exception as exc:
            say(f"✗ Lỗi khi lưu dữ liệu: {exc}")
        self.persistence.start_timer(self.snapshot_seconds,
                                     on_error=lambda exc: say(f"✗ Lỗi khi lưu dữ liệu: {exc}"))

        env = self._env()
        topic = env.get("CCHC_MAIL_EVENTS_TOPIC") or f"{env.get('CCHC_TABLE_PREFIX', 'cchc-local-')}mail-events"
        self.mail_events = CapturedEventPublisher(topic, answers_from_env(env), self.moto_url, DEFAULT_REGION,
                                                  report=say)
        self.mail_events.start()
        # moto runs in this process: reading its sent mail is cheap, so the outbox follows SES within a moment
        self.outbox = OutboxWriter(self.outbox_dir, InProcessMailSource(), interval=0.2)
        self.outbox.start(on_mail=self._captured,
                          on_error=lambda exc: say(f"✗ Lỗi khi ghi thư ra .local/outbox: {exc}"))
        self.site = SiteServer(self.project_dir / "site", self.outbox_dir, self.api_url, "127.0.0.1",
                               self.site_port, upload_url=self.moto_url).start()

        self.api = Child("api", [sys.executable, str(ROOT / "dev" / "serve_api.py"), "--host", "127.0.0.1",
                                 "--port", str(self.api_port), "--stage", self.stage,
                                 "--project-dir", str(self.project_dir), *self._env_args()],
                         env, self.project_dir)
        self.workers = Child("nền", [sys.executable, "-m", "dev.stack", "workers", "--project-dir",
                                     str(self.project_dir), "--stage", self.stage,
                                     "--schedule-seconds", f"{self.schedule_seconds:g}", *self._env_args()],
                             {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                                  env.get("PYTHONPATH")]))},
                             self.project_dir)
        self.children = [self.api, self.workers]
        for child in self.children:
            child.start()
        deadline = time.monotonic() + 60
        while not self.stop_event.is_set():
            try:
                wait_for_http(self.api_url + "/health", timeout=1, proc=self.api.proc)
                break
            except TimeoutError as exc:
                if time.monotonic() > deadline:
                    say(f"✗ API chưa trả lời sau 60 giây ({exc}).")
                    break
            except RuntimeError:
                say("✗ API không khởi động được (xem lỗi ở trên). Sửa lỗi trong mã nguồn; API sẽ tự khởi động "
                    "lại khi tệp thay đổi.")
                self.api.expected_exit = True  # no restart loop; the reload watcher restarts it
                break

    def _captured(self, path: Path) -> None:
        """A mail reached the local outbox: say so, and have the SES events it gets (Send, then Delivery, or the
        bounce or complaint CCHC_LOCAL_BOUNCE / CCHC_LOCAL_COMPLAIN ask for) published to the events topic."""
        say(f"[thư] {path.name}")
        if self.mail_events is not None:
            self.mail_events.put(path)

    def _banner(self) -> None:
        line = "=" * 72
        say(line)
        say(" Chỉ số CCHC: môi trường cục bộ đã sẵn sàng")
        say("-" * 72)
        say(f" Trang web:           {self.site_url}/")
        say(f" API:                 {self.api_url}/")
        say(f" Tài liệu API:        {self.api_url}/openapi.json")
        say(f" Hộp thư đi:          {self.site_url}/outbox/   (tệp .eml trong .local/outbox/)")
        say(f" Giả lập AWS (moto):  {self.moto_url}")
        say("")
        try:
            creds = json.loads(self.credentials.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            creds = None
        if creds:
            names = unit_names(self.project_dir)
            admin = creds.get("admin") or {}
            unit01 = (creds.get("units") or {}).get("01") or {}
            say(" Đăng nhập (chỉ dùng trên máy này):")
            rows = []
            if admin:
                rows.append(("Bộ Nội vụ (quản trị)", admin))
            if unit01:
                rows.append((f"Tỉnh 01 ({names.get('01', 'Hà Nội')})", unit01))
            width = max((len(label) for label, _ in rows), default=0)
            for label, entry in rows:
                say(f"   {(label + ':').ljust(width + 1)}  tên đăng nhập {entry.get('username')}   "
                    f"mật khẩu {entry.get('password')}")
            rel = (self.credentials.relative_to(self.project_dir)
                   if self.credentials.is_relative_to(self.project_dir) else self.credentials)
            say(f"   Tài khoản của {max(0, len(creds.get('units') or {}) - 1)} tỉnh còn lại: {rel} "
                f"và {rel.with_suffix('.xlsx')}")
        else:
            say(f" Chưa có tệp tài khoản {self.credentials} (bước seed chưa chạy được).")
        say("")
        say(f" Dữ liệu được lưu vào .local/state/ mỗi {self.snapshot_seconds:g} giây và khi dừng; "
            f"lịch chạy mỗi {self.schedule_seconds:g} giây.")
        say(" Nhấn Ctrl+C để dừng.")
        say(line)

    def _supervise(self) -> None:
        signature = source_signature(self.project_dir) if self.reload else None
        crashed: set[str] = set()
        next_check = time.monotonic() + 1.0
        while not self.stop_event.wait(0.5):
            for child in self.children:
                if not child.running() and not child.expected_exit and child.name not in crashed:
                    code = child.proc.returncode if child.proc else None
                    if time.monotonic() - child.started_at > 10:
                        say(f"✗ Tiến trình {child.name} dừng bất thường (mã {code}); khởi động lại…")
                        child.start()
                    else:
                        crashed.add(child.name)
                        say(f"✗ Tiến trình {child.name} dừng ngay sau khi khởi động (mã {code}). "
                            f"Sửa lỗi ở trên; tiến trình sẽ khởi động lại khi mã nguồn thay đổi.")
            if self.reload and time.monotonic() >= next_check:
                next_check = time.monotonic() + 1.0
                current = source_signature(self.project_dir)
                if current != signature:
                    time.sleep(0.3)  # let an editor finish writing several files
                    signature = source_signature(self.project_dir)
                    say("• Mã nguồn thay đổi: chạy lại bootstrap, khởi động lại API và tiến trình nền…")
                    run_cli("Bootstrap", ["bootstrap"], self._env(), self.project_dir)
                    for child in self.children:
                        child.stop(timeout=20)
                        child.start()
                    crashed.clear()

    def _shutdown(self) -> None:
        say("Đang dừng…")
        # Writers first (API, workers), then the last mails and the final snapshot, then the emulator.
        for child in getattr(self, "children", []):
            child.stop(timeout=20 if child.name != "api" else 5)
        if self.site is not None:
            self.site.stop()
        if self.outbox is not None:
            self.outbox.stop()
        if self.mail_events is not None:
            self.mail_events.stop()
        if self.persistence is not None and self.restored:
            self.persistence.stop_timer()
            try:
                result = self.persistence.snapshot(include_queues=True)
                if result is not None:
                    say(f"• Đã lưu dữ liệu vào .local/state/: {result.tables} bảng, {result.items} bản ghi, "
                        f"{result.objects} tệp ({result.seconds:.1f} giây).")
            except Exception as exc:
                say(f"✗ Không lưu được dữ liệu lần cuối: {exc}. Bản lưu trước đó vẫn còn nguyên.")
        if self.moto is not None:
            self.moto.stop()
        say("Đã dừng.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chạy toàn bộ môi trường cục bộ (make run).")
    parser.add_argument("--project-dir", default=str(ROOT))
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    return Launcher(Path(args.project_dir).resolve(), args.stage).run()


if __name__ == "__main__":
    sys.exit(main())
