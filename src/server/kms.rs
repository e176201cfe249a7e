//! The KMS service behind the transport: [`KmsHandler`] for [`KmsService`].

use std::net::SocketAddr;
use std::time::SystemTime;

use super::{HandlerReply, KmsHandler, Principal, TransportRefusal};
use crate::kms::service::{Context, KmsService, Refusal};

fn context(peer: SocketAddr) -> Context {
    Context {
        peer: Some(peer),
        now: SystemTime::now(),
    }
}

impl From<TransportRefusal> for Refusal {
    fn from(r: TransportRefusal) -> Self {
        match r {
            TransportRefusal::Unauthenticated => Self::Unauthenticated,
            TransportRefusal::Forbidden => Self::Forbidden,
            TransportRefusal::NotFound => Self::NotFound,
            TransportRefusal::MethodNotAllowed => {
                Self::BadRequest("method not allowed: KMS requests are POST".into())
            }
            TransportRefusal::Timeout => {
                Self::BadRequest("the request body did not arrive in time".into())
            }
            TransportRefusal::BadBody => Self::BadRequest("the request body is unreadable".into()),
            TransportRefusal::TooLarge => Self::TooLarge,
            TransportRefusal::Overloaded => Self::Overloaded,
            TransportRefusal::Internal => Self::Internal,
        }
    }
}

impl KmsHandler for KmsService {
    fn respond(
        &self,
        who: Option<&Principal>,
        path: &str,
        body: &[u8],
        peer: SocketAddr,
    ) -> HandlerReply {
        let r = KmsService::respond(self, who, path, body, &context(peer));
        HandlerReply {
            status: r.status,
            body: r.body,
            issued: r.issued,
            served: r.served,
        }
    }

    fn refusal_document(&self, refusal: TransportRefusal, path: &str, peer: SocketAddr) -> String {
        KmsService::refusal_document(self, &Refusal::from(refusal), path, &context(peer))
    }
}
