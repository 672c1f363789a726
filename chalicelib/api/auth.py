"""POST /auth/login, /auth/logout, /auth/password; GET /me."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.routing import Ctx, route
from chalicelib.runtime import runtime
from chalicelib.services import auth

bp = Blueprint(__name__)


@route(bp, "/auth/login", "POST", auth=False, summary="Đăng nhập", request=s.LOGIN_REQ, response=s.LOGIN_RES,
       errors=(400, 401, 422, 429))
def login(ctx: Ctx) -> dict:
    body = ctx.json()
    username, password = body.get("username"), body.get("password")
    return auth.login(username if isinstance(username, str) else "", password if isinstance(password, str) else "",
                      ctx.source_ip, ctx.now, runtime.random_bytes)


@route(bp, "/auth/logout", "POST", summary="Đăng xuất", response=s.OK, before_password_change=True)
def logout(ctx: Ctx) -> dict:
    auth.logout(ctx.actor, ctx.token_hash, ctx.now, ctx.suffix())
    return {"ok": True}


@route(bp, "/auth/password", "POST", summary="Đổi mật khẩu", request=s.PASSWORD_REQ, response=s.OK,
       errors=(400, 422, 429), before_password_change=True)
def change_password(ctx: Ctx) -> dict:
    body = ctx.json()
    current, new = body.get("current_password"), body.get("new_password")
    auth.change_password(ctx.actor, ctx.token_hash, current if isinstance(current, str) else "",
                         new if isinstance(new, str) else "", ctx.now, runtime.random_bytes)
    return {"ok": True}


@route(bp, "/me", summary="Tài khoản đang đăng nhập", response=s.ME, before_password_change=True)
def me(ctx: Ctx) -> dict:
    a = ctx.actor
    return {"username": a.username, "role": a.role, "unit": a.unit, "display_name": a.display_name,
            "source_ip": ctx.source_ip, "must_change_password": a.must_change_password}
