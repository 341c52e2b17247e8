//! Cluster topology (to be written).
