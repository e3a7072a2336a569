#!/bin/sh
# Runs once, when the PostgreSQL volume is new (/docker-entrypoint-initdb.d): one database per
# service, each owned by its own login role, so no service can read another's data.
set -eu
for service in training_records consent retention breach subject_rights; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE ${service} LOGIN PASSWORD '${SERVICES_DB_PASSWORD}';
CREATE DATABASE ${service} OWNER ${service};
REVOKE CONNECT ON DATABASE ${service} FROM PUBLIC;
SQL
done
