/// Frames held for one connection while an upstream read is relayed, then written with one
/// syscall: a burst of tokens costs one `sendmsg`, not one each. The server has one batch; when
/// another connection starts one, the open batch is written first, so each connection's frames
/// stay in order and nothing waits behind another client. The storage is kept between batches,
/// so batching allocates nothing in steady state.
struct OutputBatch {
    /// The connection whose frames are being held (nil: no batch open).
    var owner: Connection?
    var bytes: [UInt8] = []
}
