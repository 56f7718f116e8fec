//! All cryptography, through `ring`, in one place the rest of the engine calls.
