//! `ringcache-node`: one member of a ringcache cluster (being built: the Redis-protocol cache server).
