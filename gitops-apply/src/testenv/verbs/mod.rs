//! Verbs: what each request method does to the registry and storage (list, watch, create,
//! update and patch through one write pipeline, server-side apply, delete, scale), and the
//! decoding of request bodies as the Go types would decode them.

pub(crate) mod apply;
pub(crate) mod decode;
pub(crate) mod delete;
pub(crate) mod list;
pub(crate) mod patch;
pub(crate) mod scale;
pub(crate) mod watch;
pub(crate) mod write;

use std::borrow::Cow;

use serde_json::Value;

use crate::testenv::registry::selector::Filter;
use crate::testenv::registry::{self, Resource, table};
use crate::testenv::request::Call;
use crate::testenv::status::ApiError;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Created,
    Updated,
    Unchanged,
}

/// The object as the Accept header asks: full, metadata-only or a Table.
pub(crate) fn render<'a>(
    resource: &Resource,
    object: &'a Value,
    call: &Call,
    rv: u64,
) -> Cow<'a, Value> {
    let accept = call.accept.as_str();
    let object = match registry::served_view(resource, object) {
        Some(view) => Cow::Owned(view),
        None => Cow::Borrowed(object),
    };
    if accept.contains("as=PartialObjectMetadata") {
        return Cow::Owned(registry::partial(&object));
    }
    if accept.contains("as=Table") {
        return Cow::Owned(table::table(
            resource,
            &[&*object],
            rv,
            table::Options::of(&call.query),
        ));
    }
    object
}

/// The label and field selectors of a list, watch or deletecollection request.
pub(crate) fn filter_of(call: &Call, resource: &Resource) -> Result<Filter, ApiError> {
    Filter::parse(
        call.q("labelSelector").unwrap_or(""),
        call.q("fieldSelector").unwrap_or(""),
        resource,
    )
}
