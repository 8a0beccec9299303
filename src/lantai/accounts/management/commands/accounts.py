"""``lantai accounts``: the server operator's account tools (no superuser exists).

The first 系统管理员, 安全保密员 and 安全审计员 are created here, and accounts holding a 三员
role are looked after here: the web UI keeps each of the three out of the others' accounts.
Everything goes through accounts.services with actor None (the system) and is audited.

    lantai accounts create USERNAME [--real-name 张三] [--role sysadmin] [--unit CODE]
    lantai accounts set-roles USERNAME auditor
    lantai accounts reset-password USERNAME
    lantai accounts deactivate USERNAME | reactivate USERNAME
    lantai accounts list

Passwords are asked twice on the terminal, or read from one line of stdin with
``--password-stdin`` (for scripts); never from the command line, where ``ps`` shows them.
"""

from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lantai.accounts import services
from lantai.accounts.models import User
from lantai.accounts.roles import Role


class Command(BaseCommand):
    help = "账户工具：create、set-roles、reset-password、deactivate、reactivate、list。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="新建账户")
        create.add_argument("username")
        create.add_argument("--real-name", default="")
        create.add_argument("--email", default="")
        create.add_argument("--phone", default="")
        create.add_argument("--unit", default="", help="所属单位代码")
        create.add_argument(
            "--role", action="append", default=[], choices=Role.values, help="角色，可重复"
        )
        create.add_argument("--password-stdin", action="store_true")
        roles = sub.add_parser("set-roles", help="设置角色（替换全部角色；不给角色即清空）")
        roles.add_argument("username")
        # No argparse choices here: an empty list would fail them; the service checks codes.
        roles.add_argument("roles", nargs="*", metavar="ROLE", help="、".join(Role.values))
        reset = sub.add_parser("reset-password", help="重置密码并解除登录锁定")
        reset.add_argument("username")
        reset.add_argument("--password-stdin", action="store_true")
        for name, text in (("deactivate", "停用账户"), ("reactivate", "启用账户")):
            sub.add_parser(name, help=text).add_argument("username")
        sub.add_parser("list", help="列出账户")

    def handle(self, *args, subcommand: str, **options) -> None:
        try:
            getattr(self, "do_" + subcommand.replace("-", "_"))(**options)
        except ValidationError as exc:
            lines = []
            for field, messages in exc.message_dict.items():
                lines.extend(f"{field}: {m}" for m in messages)
            raise CommandError("\n".join(lines)) from exc

    # -- helpers ---------------------------------------------------------------------------

    def _user(self, username: str) -> User:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(_("用户“%(name)s”不存在。") % {"name": username}) from exc

    def _password(self, from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass(_("密码："))
        if first != getpass.getpass(_("再次输入密码：")):
            raise CommandError(_("两次输入的密码不一致。"))
        return first

    # -- subcommands -----------------------------------------------------------------------

    def do_create(self, username, real_name, email, phone, unit, role, password_stdin, **_o):
        unit_obj = None
        if unit:
            from lantai.holdings.models import Unit

            unit_obj = Unit.objects.filter(code=unit).first()
            if unit_obj is None:
                raise CommandError(_("单位代码“%(code)s”不存在。") % {"code": unit})
        user = services.create_user(
            None,
            username=username,
            password=self._password(password_stdin),
            real_name=real_name,
            roles=role,
            unit=unit_obj,
            email=email,
            phone=phone,
        )
        self.stdout.write(_("已新建账户：%(name)s") % {"name": user.username})

    def do_set_roles(self, username, roles, **_o):
        codes = services.set_roles(None, self._user(username), roles)
        labels = "、".join(str(Role(code).label) for code in codes) or _("无")
        self.stdout.write(_("%(name)s 的角色：%(roles)s") % {"name": username, "roles": labels})

    def do_reset_password(self, username, password_stdin, **_o):
        user = self._user(username)
        services.reset_password(None, user, self._password(password_stdin))
        self.stdout.write(_("已重置 %(name)s 的密码。") % {"name": username})

    def do_deactivate(self, username, **_o):
        services.deactivate_user(None, self._user(username))
        self.stdout.write(_("已停用：%(name)s") % {"name": username})

    def do_reactivate(self, username, **_o):
        services.reactivate_user(None, self._user(username))
        self.stdout.write(_("已启用：%(name)s") % {"name": username})

    def do_list(self, **_o):
        for user in services.list_users(None):
            state = _("在用") if user.is_active else _("已停用")
            roles = "、".join(user.role_labels) or "-"
            self.stdout.write(f"{user.username}\t{user.real_name or '-'}\t{state}\t{roles}")
