//! Items 2 and 3: races answer no 500 and keep one owner and one event.

use super::*;

// ---------------------------------------------------------------------------
// Item 2: deadlocks never answer 500.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_and_replies_to_one_message_all_succeed() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let (a, b, chat) = app.api.pair("ada", "bert").await;
    let m = app.api.send_text(&a, chat, "the original").await;
    let id = m["id"].as_i64().unwrap();
    const PER_ROUND: usize = 12;
    for round in 0..ROUNDS {
        let mut calls = Vec::new();
        for i in 0..PER_ROUND {
            calls.push((
                apis[i % 2].clone(),
                a.access_token.clone(),
                Call::Put(
                    format!("/api/v1/messages/{id}"),
                    json!({"text": format!("edit {round}.{i}")}),
                ),
            ));
            calls.push((
                apis[(i + 1) % 2].clone(),
                b.access_token.clone(),
                Call::Post(
                    "/api/v1/messages".to_owned(),
                    json!({
                        "chat_id": chat,
                        "text": format!("reply {round}.{i}"),
                        "reply_to_message_id": id,
                    }),
                ),
            ));
        }
        let answers = fire(calls).await;
        for (k, (status, body)) in answers.iter().enumerate() {
            let (want, what) = if k % 2 == 0 {
                (StatusCode::OK, "edit")
            } else {
                (StatusCode::CREATED, "reply")
            };
            assert_eq!(*status, want, "round {round}, {what} {}: {body}", k / 2);
        }
    }
    // Every success wrote exactly one event: creation, the message, then
    // one per edit and one per reply.
    let expected = 2 + (ROUNDS * PER_ROUND * 2) as i64;
    assert_eq!(last_seq(&app.api, &a, chat).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_for_all_racing_replies_answers_204_201_or_422() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let (a, b, chat) = app.api.pair("cora", "dirk").await;
    const REPLIES: usize = 8;
    for round in 0..ROUNDS {
        let m = app
            .api
            .send_text(&a, chat, &format!("target {round}"))
            .await;
        let id = m["id"].as_i64().unwrap();
        let mut calls = Vec::new();
        for i in 0..REPLIES {
            calls.push((
                apis[i % 2].clone(),
                b.access_token.clone(),
                Call::Post(
                    "/api/v1/messages".to_owned(),
                    json!({
                        "chat_id": chat,
                        "text": format!("reply {round}.{i}"),
                        "reply_to_message_id": id,
                    }),
                ),
            ));
        }
        calls.push((
            apis[round % 2].clone(),
            a.access_token.clone(),
            Call::Delete(format!("/api/v1/messages/{id}?for_all=true")),
        ));
        let answers = fire(calls).await;
        let (replies, delete) = answers.split_at(REPLIES);
        assert_eq!(
            delete[0].0,
            StatusCode::NO_CONTENT,
            "round {round}, delete: {}",
            delete[0].1
        );
        for (status, body) in replies {
            if *status == StatusCode::CREATED {
                assert_eq!(body["reply_to_message_id"], id, "{body}");
            } else if *status == StatusCode::UNPROCESSABLE_ENTITY {
                // The reply came after the delete.
                assert_eq!(body["field"], "reply_to_message_id", "{body}");
            } else {
                panic!("round {round}, reply: {status} {body}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Item 3: membership races keep exactly one owner and one event.
// ---------------------------------------------------------------------------

/// Fires `count` leaves of `leaver` from `g` at once, across both replicas:
/// exactly one succeeds, the others are refused as from a non-member.
async fn race_leaves(apis: &[Api; 2], leaver: &TestUser, g: i64, count: usize, round: usize) {
    let calls = (0..count)
        .map(|i| {
            (
                apis[(i + round) % 2].clone(),
                leaver.access_token.clone(),
                Call::Post(format!("/api/v1/chats/{g}/leave"), json!({})),
            )
        })
        .collect();
    let answers = fire(calls).await;
    exactly_one_204(
        &answers,
        &[
            (StatusCode::FORBIDDEN, "not_a_member"),
            (StatusCode::NOT_FOUND, ""),
        ],
        &format!("round {round}, leave"),
    );
}

/// Exactly one of `answers` is 204; every other one is one of `refusals`.
fn exactly_one_204(answers: &[(StatusCode, Value)], refusals: &[(StatusCode, &str)], what: &str) {
    assert_eq!(
        successes(answers, StatusCode::NO_CONTENT),
        1,
        "{what}: exactly one succeeds: {answers:?}"
    );
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::NO_CONTENT) {
        assert_one_of(*status, body, refusals, &format!("{what}, repeated"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_owner_leaves_keep_exactly_one_owner_and_one_event() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("olga").await;
    let heir = app.api.register_and_login("hugo").await;
    let other = app.api.register_and_login("ines").await;
    // The heir is the longest-standing member: the lowest id of the two.
    let heir_id = heir.id.min(other.id);
    for round in 0..ROUNDS {
        let g = app.api.group(&owner, &[&heir, &other]).await;
        race_leaves(&apis, &owner, g, 3, round).await;
        let log = events(&app.api, &other, g).await;
        assert_eq!(
            count_of(&log, "member_left", owner.id),
            1,
            "round {round}: one member_left for the owner: {log:?}"
        );
        assert_eq!(
            owners(&app.api, &other, g).await,
            vec![heir_id],
            "round {round}: exactly one owner, the heir"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_leaves_of_a_member_leave_once() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("pavla").await;
    let leaver = app.api.register_and_login("quirin").await;
    let stays = app.api.register_and_login("romy").await;
    for round in 0..ROUNDS {
        let g = app.api.group(&owner, &[&leaver, &stays]).await;
        let count = 2 + round % 2; // double and triple leaves
        race_leaves(&apis, &leaver, g, count, round).await;
        let log = events(&app.api, &stays, g).await;
        assert_eq!(
            count_of(&log, "member_left", leaver.id),
            1,
            "round {round}: one member_left: {log:?}"
        );
        assert_eq!(owners(&app.api, &stays, g).await, vec![owner.id]);
        let ids: Vec<i64> = members(&app.api, &stays, g)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert!(!ids.contains(&leaver.id), "round {round}: {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_removals_of_one_member_remove_once() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("sven").await;
    let target = app.api.register_and_login("tilda").await;
    let stays = app.api.register_and_login("ulf").await;
    for round in 0..ROUNDS {
        let g = app.api.group(&owner, &[&target, &stays]).await;
        let calls = (0..20)
            .map(|i| {
                (
                    apis[i % 2].clone(),
                    owner.access_token.clone(),
                    Call::Delete(format!("/api/v1/chats/{g}/members/{}", target.id)),
                )
            })
            .collect();
        let answers = fire(calls).await;
        exactly_one_204(
            &answers,
            &[
                (StatusCode::NOT_FOUND, "member_not_found"),
                (StatusCode::FORBIDDEN, "cannot_remove"),
            ],
            &format!("round {round}, removal"),
        );
        let log = events(&app.api, &owner, g).await;
        assert_eq!(
            count_of(&log, "member_left", target.id),
            1,
            "round {round}: one member_left: {log:?}"
        );
        assert_eq!(owners(&app.api, &owner, g).await, vec![owner.id]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_leaving_while_removing_the_heir_leaves_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("vera").await;
    // Registered first: the lower id, so the longest-standing member.
    let heir = app.api.register_and_login("wolf").await;
    let third = app.api.register_and_login("xenia").await;
    assert!(heir.id < third.id);
    for round in 0..ROUNDS {
        let g = app.api.group(&owner, &[&heir, &third]).await;
        let calls = vec![
            (
                apis[round % 2].clone(),
                owner.access_token.clone(),
                Call::Post(format!("/api/v1/chats/{g}/leave"), json!({})),
            ),
            (
                apis[(round + 1) % 2].clone(),
                owner.access_token.clone(),
                Call::Delete(format!("/api/v1/chats/{g}/members/{}", heir.id)),
            ),
        ];
        let answers = fire(calls).await;
        let (leave, remove) = (&answers[0], &answers[1]);
        assert_eq!(
            leave.0,
            StatusCode::NO_CONTENT,
            "round {round}, leave: {}",
            leave.1
        );
        assert_one_of(
            remove.0,
            &remove.1,
            &[
                (StatusCode::NO_CONTENT, ""),
                (StatusCode::FORBIDDEN, ""),
                (StatusCode::NOT_FOUND, ""),
            ],
            &format!("round {round}, removing the heir"),
        );
        // The third member always remains and reads the outcome.
        let now = members(&app.api, &third, g).await;
        let owner_ids: Vec<i64> = now
            .iter()
            .filter(|(_, role)| role == "owner")
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            owner_ids.len(),
            1,
            "round {round}: exactly one owner: {now:?} (remove: {remove:?})"
        );
        if remove.0 == StatusCode::NO_CONTENT {
            // The removal came first: the third member inherits.
            assert_eq!(owner_ids, vec![third.id], "round {round}: {now:?}");
            assert!(
                now.iter().all(|(id, _)| *id != heir.id),
                "round {round}: {now:?}"
            );
        } else {
            // The leave came first: the heir inherits and stays.
            assert_eq!(owner_ids, vec![heir.id], "round {round}: {now:?}");
        }
        let log = events(&app.api, &third, g).await;
        assert_eq!(count_of(&log, "member_left", owner.id), 1, "{log:?}");
        assert!(count_of(&log, "member_left", heir.id) <= 1, "{log:?}");
    }
}
