//! Cloudflare Worker serving the read API. (Skeleton: lands with the toolchain issue.)
