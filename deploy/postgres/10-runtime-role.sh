#!/bin/sh
# Runs once, when the database volume is first created (postgres image's docker-entrypoint-initdb.d):
# the runtime role the application connects as. It owns nothing; `manage.py grant_runtime_role`
# (the compose `migrate` service) gives it rows, and only INSERT/SELECT on the audit trail.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="${APP_DB_USER:-navigator_app}" -v password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
SQL
