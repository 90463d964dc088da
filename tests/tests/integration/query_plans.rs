//! History pages and catch-up reads stay on their indexes (issue 13, item
//! 5): the plans PostgreSQL chooses for the queries the server runs, with
//! real binds, over a chat of 5,000 messages beside another. Sequential
//! scans are turned off for the session, so a plan that still scans (or
//! sorts, reading the whole chat to find a page) means no index serves the
//! query: the test fails then, whatever the table's size.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use parley_shared::domain::models::ChatEventRow;
use parley_shared::domain::models::message::{Message, PageCursor};
use parley_shared::infra::db::Explain;
use parley_tests::TestApp;

/// Messages (and their `message_created` events) written into each chat.
const ROWS: i64 = 5_000;

async fn fill(conn: &mut AsyncPgConnection, chat: i64, sender: i64) {
    diesel::sql_query(
        "INSERT INTO messages (chat_id, sender_id, seq, text) \
         SELECT $1, $2, 1000 + g, 'm' || g FROM generate_series(1, $3) g",
    )
    .bind::<BigInt, _>(chat)
    .bind::<BigInt, _>(sender)
    .bind::<BigInt, _>(ROWS)
    .execute(conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO chat_events (chat_id, seq, type, payload, message_id) \
         SELECT chat_id, seq, 'message_created', '{}'::jsonb, id FROM messages \
         WHERE chat_id = $1 AND seq > 1000",
    )
    .bind::<BigInt, _>(chat)
    .execute(conn)
    .await
    .unwrap();
    diesel::sql_query("UPDATE chats SET last_seq = 1000 + $2 WHERE id = $1")
        .bind::<BigInt, _>(chat)
        .bind::<BigInt, _>(ROWS)
        .execute(conn)
        .await
        .unwrap();
}

/// The plan's text, after checking it reads by index without a sort.
async fn index_plan<Q>(conn: &mut AsyncPgConnection, what: &str, query: Q) -> String
where
    Explain<Q>: diesel_async::methods::LoadQuery<'static, AsyncPgConnection, String>,
    Q: 'static,
{
    let plan: Vec<String> = Explain(query).load(conn).await.unwrap();
    let plan = plan.join("\n");
    assert!(
        !plan.contains("Seq Scan"),
        "{what} scans the table:\n{plan}"
    );
    assert!(
        !plan.contains("Sort"),
        "{what} sorts (reads every row of the chat):\n{plan}"
    );
    assert!(plan.contains("Limit"), "{what} has no limit:\n{plan}");
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_and_catch_up_read_by_index() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("plan_ann", "plan_bo").await;
    let (c, _d, other) = app.api.pair("plan_cy", "plan_di").await;
    let mut conn = app.db.connect().await.unwrap();
    fill(&mut conn, chat, a.id).await;
    fill(&mut conn, other, c.id).await;
    diesel::sql_query("ANALYZE messages, chat_events, message_hidden")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let middle: i64 = diesel::select(diesel::dsl::sql::<BigInt>(&format!(
        "(SELECT id FROM messages WHERE chat_id = {chat} ORDER BY id OFFSET {} LIMIT 1)",
        ROWS / 2
    )))
    .get_result(&mut conn)
    .await
    .unwrap();

    for (what, cursor) in [
        ("the newest page", PageCursor::Latest),
        ("a page before a message", PageCursor::Before(middle)),
        ("a page after a message", PageCursor::After(middle)),
    ] {
        let plan = index_plan(
            &mut conn,
            what,
            Message::page_query(chat, a.id, 0, cursor, 50),
        )
        .await;
        assert!(
            plan.contains("messages_chat_id_id_idx"),
            "{what} does not walk (chat_id, id):\n{plan}"
        );
    }
    for (what, up_to) in [
        ("a catch-up to the end", None),
        ("a catch-up up to a seq", Some(1000 + ROWS - 10)),
    ] {
        let plan = index_plan(
            &mut conn,
            what,
            ChatEventRow::range_query(chat, 1000 + ROWS / 2, up_to, 500),
        )
        .await;
        assert!(
            plan.contains("chat_events_pkey"),
            "{what} does not walk (chat_id, seq):\n{plan}"
        );
    }
}
