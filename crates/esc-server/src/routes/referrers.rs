//! Referrers (§ 5.9): the environments that import an environment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use esc_service::{MAX_REFERRERS_PAGE, ReferrersQuery};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authed, Params, Segments};
use crate::wire::{WireReferrers, json_response};

/// Page size when the caller names none (server's choice).
const DEFAULT_COUNT: u32 = 100;

/// 36. `GET E/referrers?count=&allRevisions=&latestStackVersionOnly=&continuationToken=`.
///
/// `latestStackVersionOnly` is accepted and has nothing to filter: this
/// server knows no stacks.
pub(crate) async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let count = match params.number("count")? {
        None => DEFAULT_COUNT,
        Some(count) => u32::try_from(count)
            .ok()
            .filter(|count| (1..=MAX_REFERRERS_PAGE).contains(count))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter 'count' must be between 1 and {MAX_REFERRERS_PAGE}"
                ))
            })?,
    };
    params.flag("latestStackVersionOnly")?;
    let query = ReferrersQuery {
        all_revisions: params.flag("allRevisions")?,
        count,
        continuation_token: params.get("continuationToken").map(str::to_owned),
    };
    let page = state
        .service
        .referrers(&caller, &segments.env(), &query)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireReferrers::from_page(page),
    ))
}
