"""`/api/v1/admin`: staff accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from sajang.app.deps import AdminDep, EngineDep, SettingsDep, require_admin
from sajang.app.schemas import ErrorOut, RowId, UserCreate, UserOut, UserUpdate
from sajang.services.accounts import create_account, list_staff, update_account

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}})


@router.get("/users", response_model=list[UserOut], summary="Staff users")
def list_users(settings: SettingsDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in list_staff(settings)]


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             responses={409: {"model": ErrorOut}}, summary="Add a staff user")
def add_user(body: UserCreate, engine: EngineDep, admin: AdminDep) -> UserOut:
    user = create_account(engine, body.username, body.password, body.role, body.display_name, body.locale,
                          actor=admin.user.username)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut, responses={404: {"model": ErrorOut}},
              summary="Change a staff user (password, role, name, active)")
def update_user(user_id: RowId, body: UserUpdate, settings: SettingsDep, admin: AdminDep) -> UserOut:
    user = update_account(settings, user_id, admin.member, password=body.password, role=body.role,
                          display_name=body.display_name, is_active=body.is_active, locale=body.locale)
    return UserOut.model_validate(user)
