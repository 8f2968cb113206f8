-- Issue 18: retention purges each history oldest first, by age.
CREATE INDEX calls_created ON calls (created_at);
CREATE INDEX call_sends_at ON call_sends (at);
CREATE INDEX access_log_at ON access_log (at);
CREATE INDEX control_log_at ON control_log (at);
