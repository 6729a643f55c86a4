// How idle OpenMP workers wait, set once per process before libgomp starts.
//
// Spinning for long steals the CPU from anything else running (another resid, the HDF5 writer thread, a
// second test): with libgomp's default spin (300,000 pauses, milliseconds) small captures on 2 cores ran 100x
// slower. Sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs a futex wake-up per parallel region instead, and a
// KV-cached decode step of a 110M model runs ~50 of them: 45 tokens/s against 63. A short spin
// (kOpenMpSpinCount pauses: tens to hundreds of microseconds) catches a step's back-to-back regions and
// bounds what an idle worker takes from others; it also made a 15M capture's overhead over the bare forward
// 6% instead of 9-12% either way.
#pragma once

namespace resid {

inline constexpr const char* kOpenMpSpinCount = "10000";

// libgomp reads its settings only at start-up: unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT, this
// sets GOMP_SPINCOUNT and executes the program again (argv unchanged). Returns only when nothing needed
// setting, or when the restart failed (the process then carries on with libgomp's defaults). Call it first
// thing in main.
void use_short_openmp_spin(char** argv);

}  // namespace resid
