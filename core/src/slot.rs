//! Hash slots and command key positions (to be written).
