//! The names seed 001 puts beside user ids (`sender_name`, `user_name`):
//! a member's name in the room (their nickname there, else their name),
//! and for someone who left, their profile's name.

use std::collections::HashMap;

use parley_shared::AppContext;
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::events::MemberSnapshot;
use parley_shared::domain::users;

use super::convert::display_name;

/// Names by user id, read once per request (or per socket).
#[derive(Debug, Default)]
pub struct Names {
    known: HashMap<i64, String>,
}

impl Names {
    /// The names of a room's members.
    pub fn of(members: &[MemberSnapshot]) -> Self {
        Names {
            known: members
                .iter()
                .map(|m| (m.user_id, display_name(&m.name, m.nickname.as_deref())))
                .collect(),
        }
    }

    /// Remembers (or renames) one user.
    pub fn insert(&mut self, user_id: i64, name: String) {
        self.known.insert(user_id, name);
    }

    /// The name of `user_id` (`""` for none, or a deleted account).
    pub async fn name(
        &mut self,
        ctx: &AppContext,
        auth: &AuthContext,
        user_id: Option<i64>,
    ) -> String {
        let Some(id) = user_id else {
            return String::new();
        };
        if let Some(name) = self.known.get(&id) {
            return name.clone();
        }
        let name = users::get_user(ctx, auth, id)
            .await
            .map(|u| u.name)
            .unwrap_or_default();
        self.known.insert(id, name.clone());
        name
    }
}
