-- A call's number on the SIP server: ten digits, never a flat, held by one
-- live call at a time. Calls from before get '1' and their id (the newer
-- numbers start at 2), so a call still ringing across the upgrade can be
-- answered.
ALTER TABLE calls ADD COLUMN sip_number text NOT NULL DEFAULT '';
UPDATE calls SET sip_number = '1' || lpad(id::text, 9, '0');
CREATE UNIQUE INDEX calls_live_number ON calls (sip_number) WHERE status IN ('ring', 'answered');
