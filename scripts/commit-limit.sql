-- pgbench script: the minimal transaction a persisted send needs (take a
-- chat's next seq, insert one row, commit), on 1,000 chats so that row
-- locks rarely meet: what one commit per send allows on this disk.
-- scripts/bench runs it (COMMIT_LIMIT=1) before the measured run.
\set chat random(1, 1000)
BEGIN;
UPDATE commit_limit_chats SET last_seq = last_seq + 1 WHERE id = :chat;
INSERT INTO commit_limit_events (chat_id, seq, body)
  SELECT id, last_seq, 'x' FROM commit_limit_chats WHERE id = :chat;
COMMIT;
