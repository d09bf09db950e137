-- tsunagu: one database and two login roles per service, each database with pg_trgm.
-- Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), as the
-- superuser, through psql (it uses psql's \connect and \getenv, so PostgreSQL 15 or later).
--
-- The roles of a service (as infra/local/databases.py provisions them for development):
--   tsunagu_<service>      the OWNER: owns the database, runs the migrations
--                          (<SERVICE>_MIGRATION_DATABASE_URL)
--   tsunagu_<service>_app  the APP role the running service connects as (<SERVICE>_DATABASE_URL):
--                          CONNECT, USAGE on schema public, and by default privileges
--                          SELECT/INSERT/UPDATE/DELETE on the owner's tables and USAGE/SELECT on
--                          its sequences. It cannot create, alter or drop anything.
-- The default privileges are set here, by the superuser FOR ROLE the owner, so they cover every
-- table the migrations create; a migration may then take rights back from the app role (the kit's
-- 0002_audit.sql revokes UPDATE, DELETE and TRUNCATE on audit_events: audit rows are append-only
-- for the running service). This file revokes only from PUBLIC, never from a service's roles.
--
-- No secret is written in this file. Roles are created without one; each role's login secret is
-- then set by ALTER ROLE from the environment of the psql process (<SERVICE>_DB_OWNER_PASSWORD and
-- <SERVICE>_DB_APP_PASSWORD, which compose.yaml passes from the operator's .env or secret store).
-- An unset variable leaves the psql reference unexpanded, the statement fails and initialisation
-- stops (ON_ERROR_STOP). Outside compose, an operator sets or rotates a secret with ALTER ROLE
-- from their secret store, e.g. in psql: \password tsunagu_intake_app (it sends only the SCRAM
-- verifier), then updates the service's URL. Use URL-safe values (e.g. `openssl rand -hex 24`):
-- they are also embedded in database URLs.

-- intake --------------------------------------------------------------------------
CREATE ROLE tsunagu_intake LOGIN;
CREATE ROLE tsunagu_intake_app LOGIN;
\getenv intake_owner_pw INTAKE_DB_OWNER_PASSWORD
\getenv intake_app_pw INTAKE_DB_APP_PASSWORD
ALTER ROLE tsunagu_intake PASSWORD :'intake_owner_pw';
ALTER ROLE tsunagu_intake_app PASSWORD :'intake_app_pw';
\unset intake_owner_pw
\unset intake_app_pw
CREATE DATABASE tsunagu_intake OWNER tsunagu_intake ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_intake FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_intake TO tsunagu_intake;
GRANT CONNECT ON DATABASE tsunagu_intake TO tsunagu_intake_app;
\connect tsunagu_intake
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_intake_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_intake IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_intake_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_intake IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_intake_app;
\connect postgres

-- referral --------------------------------------------------------------------------
CREATE ROLE tsunagu_referral LOGIN;
CREATE ROLE tsunagu_referral_app LOGIN;
\getenv referral_owner_pw REFERRAL_DB_OWNER_PASSWORD
\getenv referral_app_pw REFERRAL_DB_APP_PASSWORD
ALTER ROLE tsunagu_referral PASSWORD :'referral_owner_pw';
ALTER ROLE tsunagu_referral_app PASSWORD :'referral_app_pw';
\unset referral_owner_pw
\unset referral_app_pw
CREATE DATABASE tsunagu_referral OWNER tsunagu_referral ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_referral FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_referral TO tsunagu_referral;
GRANT CONNECT ON DATABASE tsunagu_referral TO tsunagu_referral_app;
\connect tsunagu_referral
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_referral_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_referral IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_referral_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_referral IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_referral_app;
\connect postgres

-- meetings --------------------------------------------------------------------------
CREATE ROLE tsunagu_meetings LOGIN;
CREATE ROLE tsunagu_meetings_app LOGIN;
\getenv meetings_owner_pw MEETINGS_DB_OWNER_PASSWORD
\getenv meetings_app_pw MEETINGS_DB_APP_PASSWORD
ALTER ROLE tsunagu_meetings PASSWORD :'meetings_owner_pw';
ALTER ROLE tsunagu_meetings_app PASSWORD :'meetings_app_pw';
\unset meetings_owner_pw
\unset meetings_app_pw
CREATE DATABASE tsunagu_meetings OWNER tsunagu_meetings ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_meetings FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_meetings TO tsunagu_meetings;
GRANT CONNECT ON DATABASE tsunagu_meetings TO tsunagu_meetings_app;
\connect tsunagu_meetings
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_meetings_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_meetings IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_meetings_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_meetings IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_meetings_app;
\connect postgres

-- plans --------------------------------------------------------------------------
CREATE ROLE tsunagu_plans LOGIN;
CREATE ROLE tsunagu_plans_app LOGIN;
\getenv plans_owner_pw PLANS_DB_OWNER_PASSWORD
\getenv plans_app_pw PLANS_DB_APP_PASSWORD
ALTER ROLE tsunagu_plans PASSWORD :'plans_owner_pw';
ALTER ROLE tsunagu_plans_app PASSWORD :'plans_app_pw';
\unset plans_owner_pw
\unset plans_app_pw
CREATE DATABASE tsunagu_plans OWNER tsunagu_plans ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_plans FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_plans TO tsunagu_plans;
GRANT CONNECT ON DATABASE tsunagu_plans TO tsunagu_plans_app;
\connect tsunagu_plans
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_plans_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_plans IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_plans_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_plans IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_plans_app;
\connect postgres

-- outreach --------------------------------------------------------------------------
CREATE ROLE tsunagu_outreach LOGIN;
CREATE ROLE tsunagu_outreach_app LOGIN;
\getenv outreach_owner_pw OUTREACH_DB_OWNER_PASSWORD
\getenv outreach_app_pw OUTREACH_DB_APP_PASSWORD
ALTER ROLE tsunagu_outreach PASSWORD :'outreach_owner_pw';
ALTER ROLE tsunagu_outreach_app PASSWORD :'outreach_app_pw';
\unset outreach_owner_pw
\unset outreach_app_pw
CREATE DATABASE tsunagu_outreach OWNER tsunagu_outreach ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_outreach FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_outreach TO tsunagu_outreach;
GRANT CONNECT ON DATABASE tsunagu_outreach TO tsunagu_outreach_app;
\connect tsunagu_outreach
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_outreach_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_outreach IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_outreach_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_outreach IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_outreach_app;
\connect postgres

-- notifications --------------------------------------------------------------------------
CREATE ROLE tsunagu_notifications LOGIN;
CREATE ROLE tsunagu_notifications_app LOGIN;
\getenv notifications_owner_pw NOTIFICATIONS_DB_OWNER_PASSWORD
\getenv notifications_app_pw NOTIFICATIONS_DB_APP_PASSWORD
ALTER ROLE tsunagu_notifications PASSWORD :'notifications_owner_pw';
ALTER ROLE tsunagu_notifications_app PASSWORD :'notifications_app_pw';
\unset notifications_owner_pw
\unset notifications_app_pw
CREATE DATABASE tsunagu_notifications OWNER tsunagu_notifications ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_notifications FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_notifications TO tsunagu_notifications;
GRANT CONNECT ON DATABASE tsunagu_notifications TO tsunagu_notifications_app;
\connect tsunagu_notifications
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_notifications_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_notifications IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_notifications_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_notifications IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_notifications_app;
\connect postgres

-- statistics --------------------------------------------------------------------------
CREATE ROLE tsunagu_statistics LOGIN;
CREATE ROLE tsunagu_statistics_app LOGIN;
\getenv statistics_owner_pw STATISTICS_DB_OWNER_PASSWORD
\getenv statistics_app_pw STATISTICS_DB_APP_PASSWORD
ALTER ROLE tsunagu_statistics PASSWORD :'statistics_owner_pw';
ALTER ROLE tsunagu_statistics_app PASSWORD :'statistics_app_pw';
\unset statistics_owner_pw
\unset statistics_app_pw
CREATE DATABASE tsunagu_statistics OWNER tsunagu_statistics ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_statistics FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_statistics TO tsunagu_statistics;
GRANT CONNECT ON DATABASE tsunagu_statistics TO tsunagu_statistics_app;
\connect tsunagu_statistics
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tsunagu_statistics_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_statistics IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tsunagu_statistics_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tsunagu_statistics IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tsunagu_statistics_app;
\connect postgres
