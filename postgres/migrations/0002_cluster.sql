-- What the nodes of a cluster share beyond the data: the event bus's view of
-- which node listens on which channel, large bus messages, persisted
-- deadlines and the throttles' counts.

CREATE TABLE bus_nodes (
    node    text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);

CREATE TABLE bus_presence (
    node    text   NOT NULL REFERENCES bus_nodes (node) ON DELETE CASCADE,
    channel text   NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (node, channel)
);

CREATE TABLE bus_messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deadlines (
    kind   text        NOT NULL,
    id     bigint      NOT NULL,
    due_at timestamptz NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX deadlines_due ON deadlines (due_at);

CREATE TABLE limiter_hits (
    key text        NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX limiter_hits_key ON limiter_hits (key, at);

-- Secrets every node must share (the Pusher app secret, the SIP secret) when
-- the operator sets none: the first node makes them.
CREATE TABLE cluster_secrets (
    name   text PRIMARY KEY,
    secret text NOT NULL
);
