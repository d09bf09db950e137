-- tsunagu: one login role and one database per service, each with pg_trgm.
-- Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), as the
-- superuser, through psql (it uses psql's \connect and \getenv, so PostgreSQL 15 or later).
--
-- No secret is written in this file. Roles are created without one; each role's login secret is
-- then set by ALTER ROLE from the environment of the psql process (<SERVICE>_DB_PASSWORD, which
-- compose.yaml passes from the operator's .env or secret store). An unset variable leaves the
-- psql reference unexpanded, the statement fails and initialisation stops (ON_ERROR_STOP).
-- Outside compose, an operator sets or rotates it with ALTER ROLE from their secret store, e.g. in
-- psql: \password tsunagu_intake (it sends only the SCRAM verifier), then updates the service's URL.
-- Use URL-safe values (e.g. `openssl rand -hex 24`): they are also embedded in database URLs.

-- intake --------------------------------------------------------------------------
CREATE ROLE tsunagu_intake LOGIN;
\getenv intake_pw INTAKE_DB_PASSWORD
ALTER ROLE tsunagu_intake PASSWORD :'intake_pw';
\unset intake_pw
CREATE DATABASE tsunagu_intake OWNER tsunagu_intake ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_intake FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_intake TO tsunagu_intake;
\connect tsunagu_intake
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres

-- referral --------------------------------------------------------------------------
CREATE ROLE tsunagu_referral LOGIN;
\getenv referral_pw REFERRAL_DB_PASSWORD
ALTER ROLE tsunagu_referral PASSWORD :'referral_pw';
\unset referral_pw
CREATE DATABASE tsunagu_referral OWNER tsunagu_referral ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_referral FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_referral TO tsunagu_referral;
\connect tsunagu_referral
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres

-- meetings --------------------------------------------------------------------------
CREATE ROLE tsunagu_meetings LOGIN;
\getenv meetings_pw MEETINGS_DB_PASSWORD
ALTER ROLE tsunagu_meetings PASSWORD :'meetings_pw';
\unset meetings_pw
CREATE DATABASE tsunagu_meetings OWNER tsunagu_meetings ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_meetings FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_meetings TO tsunagu_meetings;
\connect tsunagu_meetings
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres

-- plans --------------------------------------------------------------------------
CREATE ROLE tsunagu_plans LOGIN;
\getenv plans_pw PLANS_DB_PASSWORD
ALTER ROLE tsunagu_plans PASSWORD :'plans_pw';
\unset plans_pw
CREATE DATABASE tsunagu_plans OWNER tsunagu_plans ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_plans FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_plans TO tsunagu_plans;
\connect tsunagu_plans
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres

-- outreach --------------------------------------------------------------------------
CREATE ROLE tsunagu_outreach LOGIN;
\getenv outreach_pw OUTREACH_DB_PASSWORD
ALTER ROLE tsunagu_outreach PASSWORD :'outreach_pw';
\unset outreach_pw
CREATE DATABASE tsunagu_outreach OWNER tsunagu_outreach ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_outreach FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_outreach TO tsunagu_outreach;
\connect tsunagu_outreach
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres

-- notifications --------------------------------------------------------------------------
CREATE ROLE tsunagu_notifications LOGIN;
\getenv notifications_pw NOTIFICATIONS_DB_PASSWORD
ALTER ROLE tsunagu_notifications PASSWORD :'notifications_pw';
\unset notifications_pw
CREATE DATABASE tsunagu_notifications OWNER tsunagu_notifications ENCODING 'UTF8' TEMPLATE template0
    LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8';
REVOKE ALL ON DATABASE tsunagu_notifications FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsunagu_notifications TO tsunagu_notifications;
\connect tsunagu_notifications
-- Extensions need the superuser; the service's own migrations then use pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect postgres
