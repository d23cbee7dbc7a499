"""`/api/v1/admin`: staff accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from sajang.app.auth import create_account, forget_user
from sajang.app.deps import AdminDep, EngineDep, require_admin
from sajang.app.schemas import ErrorOut, RowId, UserCreate, UserOut, UserUpdate
from sajang.db import users as users_db
from sajang.errors import NotFound, SajangError
from sajang.security import hash_password

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}})


@router.get("/users", response_model=list[UserOut], summary="Staff users")
def list_users(engine: EngineDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users_db.list_users(engine)]


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             responses={409: {"model": ErrorOut}}, summary="Add a staff user")
def add_user(body: UserCreate, engine: EngineDep, admin: AdminDep) -> UserOut:
    user = create_account(engine, body.username, body.password, body.role, body.display_name, body.locale,
                          actor=admin.user.username)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut, responses={404: {"model": ErrorOut}},
              summary="Change a staff user (password, role, name, active)")
def update_user(user_id: RowId, body: UserUpdate, engine: EngineDep, admin: AdminDep) -> UserOut:
    target = users_db.get_user(engine, user_id)
    if target is None:
        raise NotFound("no such user")
    if target.id == admin.user.id and (body.is_active is False or body.role == "agent"):
        raise SajangError("you cannot demote or disable yourself", code="forbidden", status_code=403)
    user = users_db.update_user(engine, user_id, actor=admin.user.username,
                                password_hash=hash_password(body.password) if body.password else None,
                                role=body.role, display_name=body.display_name, is_active=body.is_active,
                                locale=body.locale)
    forget_user(user_id)
    return UserOut.model_validate(user)
