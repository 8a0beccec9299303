from role_fixtures import archivist, make_user, password, sysadmin, unit  # noqa: F401
from storage.conftest import bucket, s3_env, s3_server  # noqa: F401  (moto's S3 server)
