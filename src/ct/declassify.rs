//! Declassification: the points where a value computed from secrets becomes public by design
//! (an accept/reject decision, a rejection-sampling draw that is discarded, the validity of a
//! key being imported).
//!
//! Every branch on secret-derived data in this crate goes through `declassify`, so the set of
//! such points is explicit. With the `ct-taint` feature a hook can be installed that is told
//! about each declassified octet: the valgrind taint test (`tests/ct_taint.rs`) uses it to mark
//! exactly those octets as defined, so memcheck reports every *other* branch or memory index
//! that depends on a secret. Without the feature, `declassify` is `bool::from`.

use subtle::Choice;

/// The hook's type: told the address and length of each declassified value.
#[cfg(feature = "ct-taint")]
pub type DeclassifyHook = fn(*mut u8, usize);

#[cfg(feature = "ct-taint")]
static HOOK: std::sync::OnceLock<DeclassifyHook> = std::sync::OnceLock::new();

/// Installs the declassification hook (once per process; later calls are ignored). For the
/// constant-time taint test only.
#[cfg(feature = "ct-taint")]
pub fn set_declassify_hook(hook: DeclassifyHook) {
    let _ = HOOK.set(hook);
}

#[cfg(feature = "ct-taint")]
static CLASSIFY_HOOK: std::sync::OnceLock<DeclassifyHook> = std::sync::OnceLock::new();

/// Installs the classification hook (once per process; later calls are ignored): told about
/// each value the crate derives as a secret from public inputs (the store key, derived from
/// the operator's passphrase). For the constant-time taint test only.
#[cfg(feature = "ct-taint")]
pub fn set_classify_hook(hook: DeclassifyHook) {
    let _ = CLASSIFY_HOOK.set(hook);
}

/// Marks a freshly derived value as secret from here on (the store key after Argon2id, whose
/// memory-hard indexing depends on the passphrase by design). A no-op unless the `ct-taint`
/// hook is installed.
#[inline]
#[allow(unused_variables)]
#[cfg(feature = "kms")]
pub(crate) fn classify_in_place<T: ?Sized>(v: &mut T) {
    #[cfg(feature = "ct-taint")]
    if let Some(h) = CLASSIFY_HOOK.get() {
        h(core::ptr::from_mut(v).cast::<u8>(), size_of_val(v));
    }
}

/// Marks a value computed from secrets as public by design (a public key, a signature, an
/// Encapsulated Data point). A no-op unless the `ct-taint` hook is installed.
#[inline]
#[allow(unused_variables)]
pub(crate) fn declassify_in_place<T: ?Sized>(v: &mut T) {
    #[cfg(feature = "ct-taint")]
    if let Some(h) = HOOK.get() {
        h(core::ptr::from_mut(v).cast::<u8>(), size_of_val(v));
    }
}

/// Turns a secret-derived `Choice` into a public `bool`, marking the decision as public by
/// design.
#[inline]
pub(crate) fn declassify(c: Choice) -> bool {
    #[cfg(feature = "ct-taint")]
    {
        let mut b = [c.unwrap_u8()];
        declassify_in_place(&mut b);
        std::hint::black_box(b)[0] == 1
    }
    #[cfg(not(feature = "ct-taint"))]
    {
        bool::from(c)
    }
}
