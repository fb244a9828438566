//! int8 inference: the TFLite / CMSIS-NN integer scheme (per-channel symmetric weights,
//! per-tensor asymmetric activations, fixed-point requantization, int32 accumulators).
