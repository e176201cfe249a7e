//! The PostgreSQL tables of schema versions 1 and 2 (version 3, the job queue, is in
//! `jobs.rs`).

/// The tables of schema version 1.
pub(super) const SCHEMA_V1: &str = "CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
     CREATE TABLE master_keys (
         generation BIGINT PRIMARY KEY,
         first_period BIGINT NOT NULL,
         last_period BIGINT,
         sakke_z_sealed BYTEA NOT NULL,
         eccsi_ksak_sealed BYTEA NOT NULL,
         sakke_public BYTEA NOT NULL,
         eccsi_kpak BYTEA NOT NULL,
         created_at BIGINT NOT NULL);
     CREATE TABLE principals (
         uri TEXT PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
         created_at BIGINT NOT NULL);
     CREATE TABLE issued (
         seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
         uri TEXT NOT NULL REFERENCES principals(uri),
         period_no BIGINT NOT NULL,
         generation BIGINT NOT NULL REFERENCES master_keys(generation),
         user_id BYTEA NOT NULL,
         rsk_sealed BYTEA NOT NULL,
         ssk_sealed BYTEA NOT NULL,
         pvt BYTEA NOT NULL,
         issued_at BIGINT NOT NULL,
         PRIMARY KEY (uri, period_no));";

/// What version 2 adds: group managers, the delivery audit log, external certificates.
pub(super) const SCHEMA_V2_ADDITIONS: &str = "CREATE TABLE group_managers (
         group_uri TEXT NOT NULL REFERENCES principals(uri),
         manager TEXT NOT NULL,
         added_at BIGINT NOT NULL,
         PRIMARY KEY (group_uri, manager));
     CREATE TABLE deliveries (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         principal TEXT NOT NULL,
         uri TEXT NOT NULL,
         period_no BIGINT NOT NULL,
         delivered_at BIGINT NOT NULL,
         peer TEXT);
     CREATE TABLE external_certs (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         xml TEXT NOT NULL,
         xml_sha256 BYTEA NOT NULL UNIQUE,
         added_at BIGINT NOT NULL);
     INSERT INTO meta (key, value) VALUES ('cache_num', convert_to('0', 'UTF8'));";
