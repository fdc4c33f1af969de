-- Tables for the article's factory (Pipelines/factory.json feeds them).
-- Columns are matched by name to the rule's output fields; `payload` gets the whole record.

CREATE TABLE machine_status (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,          -- ms since the epoch (rule: timestamp())
    factory     TEXT    NOT NULL,
    machine     TEXT    NOT NULL,
    state       TEXT,
    temp        REAL,
    payload     TEXT    NOT NULL           -- the whole record as JSON
);
CREATE INDEX machine_status_time ON machine_status (received_at);
CREATE INDEX machine_status_machine ON machine_status (factory, machine, received_at);

CREATE TABLE machine_alerts (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    factory     TEXT    NOT NULL,
    machine     TEXT    NOT NULL,
    severity    INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 10),
    code        TEXT,
    payload     TEXT    NOT NULL
);
CREATE INDEX machine_alerts_time ON machine_alerts (received_at);
CREATE INDEX machine_alerts_machine ON machine_alerts (factory, machine, received_at);
