//! Revision tags (§ 5.5) and environment tags (§ 5.6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use esc_store::EnvironmentTagUpdate;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::wire::{
    CreateEnvironmentTag, CreateRevisionTag, UpdateEnvironmentTag, UpdateRevisionTag,
    WireEnvironmentTag, WireEnvironmentTags, WireRevisionTag, WireRevisionTags, json_response,
    no_content,
};

const DEFAULT_PAGE: u32 = 100;

/// The page size: absent, empty or 0 = the server's default.
fn count(params: &Params) -> Result<u32, ApiError> {
    Ok(params
        .number("count")?
        .filter(|count| *count > 0)
        .map_or(DEFAULT_PAGE, |count| {
            u32::try_from(count.min(1000)).unwrap_or(1000)
        }))
}

/// 23. `GET E/versions/tags?after=&count=`.
pub(crate) async fn list_revision_tags(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let count = count(&params)?;
    let tags = state
        .service
        .revision_tags(&caller, &segments.env(), params.get("after"), count)
        .await?;
    let next_token = if tags.len() >= count as usize {
        tags.last().map(|tag| tag.name.clone()).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(json_response(
        StatusCode::OK,
        &WireRevisionTags {
            tags: tags.iter().map(WireRevisionTag::from).collect(),
            next_token,
        },
    ))
}

/// 24. `POST E/versions/tags` → 204.
pub(crate) async fn create_revision_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: CreateRevisionTag = body.json()?;
    state
        .service
        .create_revision_tag(&caller, &segments.env(), &request.name, request.revision)
        .await?;
    Ok(no_content())
}

/// 25. `GET E/versions/tags/{tag}`.
pub(crate) async fn revision_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let tag = state
        .service
        .revision_tag(&caller, &segments.env(), segments.get("tag"))
        .await?;
    Ok(json_response(StatusCode::OK, &WireRevisionTag::from(&tag)))
}

/// 26. `PATCH E/versions/tags/{tag}` → 204.
pub(crate) async fn update_revision_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: UpdateRevisionTag = body.json()?;
    state
        .service
        .update_revision_tag(
            &caller,
            &segments.env(),
            segments.get("tag"),
            request.revision,
        )
        .await?;
    Ok(no_content())
}

/// 27. `DELETE E/versions/tags/{tag}` → 204.
pub(crate) async fn delete_revision_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    state
        .service
        .delete_revision_tag(&caller, &segments.env(), segments.get("tag"))
        .await?;
    Ok(no_content())
}

/// 28. `GET E/tags?after=&count=`.
pub(crate) async fn list_environment_tags(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let after = params.get("after").filter(|after| *after != "0");
    let page = state
        .service
        .environment_tags(&caller, &segments.env(), after, count(&params)?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireEnvironmentTags {
            tags: page
                .items
                .iter()
                .map(|tag| (tag.name.clone(), WireEnvironmentTag::from(tag)))
                .collect(),
            next_token: page
                .next
                .filter(|_| !page.items.is_empty())
                .unwrap_or_else(|| "0".to_owned()),
        },
    ))
}

/// 29. `POST E/tags` → 200 tag.
pub(crate) async fn create_environment_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: CreateEnvironmentTag = body.json()?;
    let tag = state
        .service
        .create_environment_tag(&caller, &segments.env(), &request.name, &request.value)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireEnvironmentTag::from(&tag),
    ))
}

/// 30. `GET E/tags/{name}`.
pub(crate) async fn environment_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let tag = state
        .service
        .environment_tag(&caller, &segments.env(), segments.get("name"))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireEnvironmentTag::from(&tag),
    ))
}

/// 31. `PATCH E/tags/{name}` → 200 tag.
pub(crate) async fn update_environment_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: UpdateEnvironmentTag = body.json()?;
    let non_empty = |text: String| Some(text).filter(|text| !text.is_empty());
    let update = EnvironmentTagUpdate {
        expected_value: non_empty(request.current_tag.value),
        new_name: non_empty(request.new_tag.name),
        new_value: non_empty(request.new_tag.value),
    };
    let tag = state
        .service
        .update_environment_tag(&caller, &segments.env(), segments.get("name"), &update)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireEnvironmentTag::from(&tag),
    ))
}

/// 32. `DELETE E/tags/{name}` → 204.
pub(crate) async fn delete_environment_tag(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    state
        .service
        .delete_environment_tag(&caller, &segments.env(), segments.get("name"))
        .await?;
    Ok(no_content())
}
