//! Private keys and certificate chains: PEM and DER loading.
