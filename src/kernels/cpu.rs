//! `KANDLE_CPU`: which vector instructions the kernels use. Unset or `auto`, the widest
//! the CPU has (AVX-512 where present). `avx2` forces AVX2 + FMA on a CPU that also has
//! AVX-512, to measure on any machine the speed that AVX2-only machines get
//! (`benchmarks/README.md`). Read once, at the first kernel call.

use std::sync::OnceLock;

/// Whether `KANDLE_CPU=avx2` asks for the AVX2 kernels.
pub fn avx2_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| match std::env::var("KANDLE_CPU") {
        Ok(v) if v.eq_ignore_ascii_case("avx2") => true,
        Ok(v) if v.is_empty() || v.eq_ignore_ascii_case("auto") => false,
        Ok(v) => {
            // An environment variable has no caller to return an error to.
            eprintln!("kandle: ignoring KANDLE_CPU={v:?}; expected \"avx2\" or \"auto\"");
            false
        }
        Err(_) => false,
    })
}

/// The vector instructions the kernels use: "avx512", "avx2" or "baseline".
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && !avx2_forced() {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2";
        }
    }
    "baseline"
}
