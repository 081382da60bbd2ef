-- Users, their password hashes (yescrypt) and roles. Email and username are
-- unique regardless of case.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    email         text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    username      text        NOT NULL CHECK (length(username) BETWEEN 3 AND 32),
    full_name     text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
