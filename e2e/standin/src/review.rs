//! [`AccessReview`]: `authorization.k8s.io/v1` SelfSubjectAccessReview and SubjectAccessReview —
//! "may this user do this?" answered by the same [`Authorizer`] that guards requests (what
//! `kubectl auth can-i` asks). Reviews are answered, not stored. Non-resource URLs are always
//! allowed, as the stand-in does not check them.

use super::error::ApiError;
use super::rbac::{Attributes, Authorizer};
use super::resources::ResourceType;
use super::store::StoreState;
use super::users::KubeUser;
use serde_json::{Value, json};

/// Answers access reviews.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessReview;

impl AccessReview {
    /// The review with its `status` filled in. `requester` is who asks (the subject of a
    /// SelfSubjectAccessReview); `enforced` is whether RBAC is on (off: everything is allowed).
    pub fn answer(
        &self,
        state: &StoreState,
        ty: &ResourceType,
        requester: &KubeUser,
        mut review: Value,
        enforced: bool,
    ) -> Result<Value, ApiError> {
        let spec = review.get("spec").cloned().unwrap_or_else(|| json!({}));
        let subject = if ty.kind == "SelfSubjectAccessReview" {
            requester.clone()
        } else {
            let user = spec["user"].as_str().unwrap_or("");
            let groups: Vec<String> = spec["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect();
            if user.is_empty() && groups.is_empty() {
                return Err(ApiError::invalid(
                    &ty.group,
                    &ty.plural,
                    "",
                    "spec.user: Invalid value: \"\": at least one of user or group must be specified",
                ));
            }
            KubeUser::from_username(user, &groups)
        };
        let status = if let Some(attrs) = spec.get("resourceAttributes") {
            let text = |field: &str| attrs[field].as_str().unwrap_or("").to_string();
            let (verb, group, resource) = (text("verb"), text("group"), text("resource"));
            let (subresource, namespace, name) =
                (text("subresource"), text("namespace"), text("name"));
            let decision = if enforced {
                Authorizer.authorize(
                    state,
                    &Attributes {
                        user: &subject,
                        verb: &verb,
                        group: &group,
                        resource: &resource,
                        subresource: &subresource,
                        namespace: &namespace,
                        name: &name,
                    },
                )
            } else {
                Ok(())
            };
            match decision {
                Ok(()) => json!({"allowed": true}),
                Err(denied) => json!({"allowed": false, "reason": denied.message}),
            }
        } else if spec.get("nonResourceAttributes").is_some() {
            json!({"allowed": true, "reason": "non-resource URLs are not checked by the ringcache API stand-in"})
        } else {
            return Err(ApiError::invalid(
                &ty.group,
                &ty.plural,
                "",
                "spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        };
        review["status"] = status;
        review["kind"] = json!(ty.kind);
        review["apiVersion"] = json!(ty.api_version());
        if review.get("metadata").is_none() {
            review["metadata"] = json!({});
        }
        Ok(review)
    }
}
