from role_fixtures import archivist, make_user, password, sysadmin, unit  # noqa: F401
