-- Which message a chat event is about (message_created / _updated / _deleted),
-- so that deleting a message for everyone can redact its earlier events
-- (issue 6, item 1). Not a foreign key: an event insert must not lock the
-- message row. No index: redaction finds the rows by (chat_id, seq >= the
-- message's seq), the primary key.
ALTER TABLE chat_events ADD COLUMN message_id BIGINT;
UPDATE chat_events
   SET message_id = COALESCE((payload ->> 'message_id')::bigint, (payload -> 'message' ->> 'id')::bigint)
 WHERE type IN ('message_created', 'message_updated', 'message_deleted');

-- Messages already deleted for everyone: their logged copies lose the content.
UPDATE chat_events e
   SET payload = jsonb_set(e.payload, '{message}', (e.payload -> 'message') || jsonb_build_object(
           'text', NULL, 'deleted', TRUE, 'mentions', '[]'::jsonb, 'reactions', '[]'::jsonb,
           'attachments', '[]'::jsonb, 'attachment_waveform', NULL))
  FROM messages m
 WHERE m.id = e.message_id
   AND m.deleted_at IS NOT NULL
   AND e.type IN ('message_created', 'message_updated');
DELETE FROM mentions USING messages m WHERE m.id = mentions.message_id AND m.deleted_at IS NOT NULL;

-- The seq of a member's latest member_joined (0: a member since the chat
-- began). A replay that meets the member's own earlier member_left skips to
-- here instead of ending (issue 6, item 5).
ALTER TABLE chat_members ADD COLUMN joined_seq BIGINT NOT NULL DEFAULT 0;
UPDATE chat_members cm
   SET joined_seq = j.seq
  FROM (SELECT chat_id, (payload ->> 'user_id')::bigint AS user_id, max(seq) AS seq
          FROM chat_events WHERE type = 'member_joined'
         GROUP BY 1, 2) j
 WHERE j.chat_id = cm.chat_id AND j.user_id = cm.user_id;
