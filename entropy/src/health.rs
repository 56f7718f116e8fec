//! Continuous health tests on noise sources (SP 800-90B section 4.4), and a
//! stuck-output check for sources whose output is already conditioned.
//!
//! A raw noise source is tested sample by sample, a sample being one byte.
//! Its claimed min-entropy per sample `H` sets the cutoffs, for a false
//! positive probability of `α = 2^-20` per sample (the standard's
//! recommendation):
//!
//! - the repetition count test fails when one value repeats `C = 1 + ⌈20/H⌉`
//!   times in a row;
//! - the adaptive proportion test (window `W = 512`, for non-binary samples)
//!   fails when the first value of a window occurs `C` times within it, `C`
//!   being `1 + CRITBINOM(W, 2^-H, 1 - α)`.
//!
//! A failure is latched by the pool: the source is not used again.

use alloc::vec;
use core::fmt;

use zeroize::Zeroizing;

/// The false positive rate of the tests is `2^-ALPHA_EXPONENT` per sample.
pub const ALPHA_EXPONENT: u32 = 20;

/// The adaptive proportion test's window for non-binary samples.
pub const APT_WINDOW: u32 = 512;

/// Block size of the stuck-output check on conditioned sources, in bytes.
pub const STUCK_BLOCK: usize = 16;

/// `2^(-k/8)` for `k` in `0..8`.
const NEG_EIGHTH_POWERS: [f64; 8] = [
    1.0,
    0.917_004_043_204_671_2,
    0.840_896_415_253_714_5,
    0.771_105_412_703_970_4,
    core::f64::consts::FRAC_1_SQRT_2,
    0.648_419_777_325_504_8,
    0.594_603_557_501_360_5,
    0.545_253_866_332_628_8,
];

/// The min-entropy a raw noise source claims per one-byte sample, in eighths
/// of a bit: from 1/8 bit to 8 bits. Round an assessed value down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinEntropy(u8);

impl MinEntropy {
    /// Eight bits per byte: full entropy.
    pub const FULL: MinEntropy = MinEntropy(64);

    /// `eighths`/8 bits per sample; `None` unless `1 <= eighths <= 64`.
    pub const fn from_eighths(eighths: u8) -> Option<MinEntropy> {
        if eighths == 0 || eighths > 64 {
            None
        } else {
            Some(MinEntropy(eighths))
        }
    }

    /// Whole bits per sample; `None` unless `1 <= bits <= 8`.
    pub const fn from_bits(bits: u8) -> Option<MinEntropy> {
        if bits == 0 || bits > 8 {
            None
        } else {
            Some(MinEntropy(bits * 8))
        }
    }

    /// The claim in eighths of a bit.
    pub const fn eighths(self) -> u8 {
        self.0
    }

    /// How many samples are needed to collect at least `bits` bits.
    pub fn samples_for(self, bits: u32) -> usize {
        (bits as usize * 8).div_ceil(self.0 as usize)
    }

    /// The largest probability of any one sample value, `2^-H`.
    pub fn max_probability(self) -> f64 {
        let whole = u32::from(self.0 / 8);
        let mut p = NEG_EIGHTH_POWERS[usize::from(self.0 % 8)];
        for _ in 0..whole {
            p /= 2.0;
        }
        p
    }
}

/// Which test failed, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFailure {
    /// One sample value repeated `cutoff` times in a row.
    RepetitionCount {
        /// The value that repeated.
        value: u8,
        /// The cutoff that was reached.
        cutoff: u32,
    },
    /// The first value of a window occurred `cutoff` times within the window.
    AdaptiveProportion {
        /// The value that was over-represented.
        value: u8,
        /// The cutoff that was reached.
        cutoff: u32,
    },
    /// A conditioned source returned the same block twice in a row, or a
    /// block of one repeated byte.
    StuckOutput,
}

impl HealthFailure {
    /// A fixed description, for [`crate::EntropyError`].
    pub fn as_str(&self) -> &'static str {
        match self {
            HealthFailure::RepetitionCount { .. } => "health test failed: repetition count",
            HealthFailure::AdaptiveProportion { .. } => "health test failed: adaptive proportion",
            HealthFailure::StuckOutput => "health test failed: stuck output",
        }
    }
}

impl fmt::Display for HealthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthFailure::RepetitionCount { value, cutoff } => write!(
                f,
                "repetition count test failed: {value:#04x} repeated {cutoff} times"
            ),
            HealthFailure::AdaptiveProportion { value, cutoff } => write!(
                f,
                "adaptive proportion test failed: {value:#04x} seen {cutoff} times in {APT_WINDOW} samples"
            ),
            HealthFailure::StuckOutput => f.write_str("stuck output: a block repeated"),
        }
    }
}

/// The repetition count test (SP 800-90B 4.4.1).
#[derive(Debug, Clone)]
pub struct RepetitionCount {
    cutoff: u32,
    last: Option<u8>,
    run: u32,
}

impl RepetitionCount {
    /// A test for a source claiming `h` per sample.
    pub fn new(h: MinEntropy) -> RepetitionCount {
        // C = 1 + ceil(20 / H), with H = eighths / 8.
        let cutoff = 1 + (ALPHA_EXPONENT * 8).div_ceil(u32::from(h.eighths()));
        RepetitionCount {
            cutoff,
            last: None,
            run: 0,
        }
    }

    /// The run length at which the test fails.
    pub fn cutoff(&self) -> u32 {
        self.cutoff
    }

    /// Feeds one sample.
    pub fn feed(&mut self, sample: u8) -> Result<(), HealthFailure> {
        if self.last == Some(sample) {
            self.run += 1;
            if self.run >= self.cutoff {
                return Err(HealthFailure::RepetitionCount {
                    value: sample,
                    cutoff: self.cutoff,
                });
            }
        } else {
            self.last = Some(sample);
            self.run = 1;
        }
        Ok(())
    }
}

/// The adaptive proportion test (SP 800-90B 4.4.2), window [`APT_WINDOW`].
#[derive(Debug, Clone)]
pub struct AdaptiveProportion {
    cutoff: u32,
    first: u8,
    count: u32,
    seen: u32,
}

impl AdaptiveProportion {
    /// A test for a source claiming `h` per sample.
    pub fn new(h: MinEntropy) -> AdaptiveProportion {
        AdaptiveProportion {
            cutoff: apt_cutoff(APT_WINDOW, h.max_probability()),
            first: 0,
            count: 0,
            seen: 0,
        }
    }

    /// The count at which the test fails.
    pub fn cutoff(&self) -> u32 {
        self.cutoff
    }

    /// Feeds one sample.
    pub fn feed(&mut self, sample: u8) -> Result<(), HealthFailure> {
        if self.seen == 0 {
            self.first = sample;
            self.count = 1;
        } else if sample == self.first {
            self.count += 1;
            if self.count >= self.cutoff {
                return Err(HealthFailure::AdaptiveProportion {
                    value: sample,
                    cutoff: self.cutoff,
                });
            }
        }
        self.seen += 1;
        if self.seen == APT_WINDOW {
            self.seen = 0;
        }
        Ok(())
    }
}

/// `1 + CRITBINOM(window, p, 1 - 2^-20)`: the smallest `c` with
/// `P(X >= c) <= 2^-20` for `X ~ Binomial(window, p)`.
///
/// The probabilities are computed relative to the mode and normalized at the
/// end, so neither tail underflows where it matters.
fn apt_cutoff(window: u32, p: f64) -> u32 {
    let n = window as usize;
    let alpha = 1.0 / f64::from(1u32 << ALPHA_EXPONENT);
    let q = 1.0 - p;
    // The mode of the binomial distribution is floor((n + 1) p).
    let mut mode = ((n + 1) as f64 * p) as usize;
    if mode > n {
        mode = n;
    }
    let mut weight = vec![0f64; n + 1];
    weight[mode] = 1.0;
    for k in mode..n {
        weight[k + 1] = weight[k] * ((n - k) as f64 / (k + 1) as f64) * (p / q);
    }
    for k in (1..=mode).rev() {
        weight[k - 1] = weight[k] * (k as f64 / (n - k + 1) as f64) * (q / p);
    }
    let total: f64 = weight.iter().sum();
    let mut tail = 0.0;
    for c in (0..=n).rev() {
        tail += weight[c] / total;
        if tail > alpha {
            return (c + 1) as u32;
        }
    }
    1
}

/// Fails when a conditioned source repeats a [`STUCK_BLOCK`]-byte block or
/// returns a block made of one repeated byte (for a full-entropy source
/// either has probability about 2^-128).
#[derive(Default)]
pub struct StuckOutput {
    previous: Option<Zeroizing<[u8; STUCK_BLOCK]>>,
}

impl fmt::Debug for StuckOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StuckOutput")
            .field("primed", &self.previous.is_some())
            .finish()
    }
}

impl StuckOutput {
    /// A check with no previous block.
    pub fn new() -> StuckOutput {
        StuckOutput::default()
    }

    /// Whether a first block has been seen.
    pub fn is_primed(&self) -> bool {
        self.previous.is_some()
    }

    /// Checks one block against the previous one and remembers it.
    pub fn feed(&mut self, block: &[u8; STUCK_BLOCK]) -> Result<(), HealthFailure> {
        let uniform = block.iter().fold(0u8, |acc, b| acc | (b ^ block[0])) == 0;
        let repeated = match &self.previous {
            Some(prev) => {
                prev.iter()
                    .zip(block)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            }
            None => false,
        };
        self.previous = Some(Zeroizing::new(*block));
        if uniform || repeated {
            Err(HealthFailure::StuckOutput)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(eighths: u8) -> MinEntropy {
        MinEntropy::from_eighths(eighths).unwrap()
    }

    #[test]
    fn apt_cutoffs_match_sp800_90b_table_2() {
        // SP 800-90B table 2, non-binary alphabet, W = 512.
        for (eighths, cutoff) in [(4, 410), (8, 311), (16, 177), (32, 62), (64, 13)] {
            assert_eq!(
                AdaptiveProportion::new(h(eighths)).cutoff(),
                cutoff,
                "H = {eighths}/8"
            );
        }
    }

    #[test]
    fn rct_cutoffs() {
        assert_eq!(RepetitionCount::new(h(8)).cutoff(), 21);
        assert_eq!(RepetitionCount::new(h(4)).cutoff(), 41);
        assert_eq!(RepetitionCount::new(MinEntropy::FULL).cutoff(), 4);
        assert_eq!(RepetitionCount::new(h(1)).cutoff(), 161);
    }

    #[test]
    fn min_entropy_bounds_and_samples() {
        assert!(MinEntropy::from_eighths(0).is_none());
        assert!(MinEntropy::from_eighths(65).is_none());
        assert!(MinEntropy::from_bits(9).is_none());
        assert_eq!(MinEntropy::from_bits(8), Some(MinEntropy::FULL));
        assert_eq!(h(8).samples_for(256), 256);
        assert_eq!(h(4).samples_for(256), 512);
        assert_eq!(MinEntropy::FULL.samples_for(257), 33);
        assert!((h(4).max_probability() - core::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
    }

    #[test]
    fn rct_trips_exactly_at_the_cutoff() {
        let mut rct = RepetitionCount::new(h(8));
        for _ in 0..20 {
            rct.feed(9).unwrap();
        }
        assert_eq!(
            rct.feed(9),
            Err(HealthFailure::RepetitionCount {
                value: 9,
                cutoff: 21
            })
        );
        let mut rct = RepetitionCount::new(h(8));
        for i in 0..10_000u32 {
            // Runs of 20 then a change: never trips.
            rct.feed((i / 20) as u8).unwrap();
        }
    }

    #[test]
    fn apt_trips_on_a_biased_window_only() {
        let mut apt = AdaptiveProportion::new(MinEntropy::FULL);
        // 12 occurrences of the first value in a window pass, the 13th trips.
        let mut fed = 0;
        for i in 0..12u32 {
            apt.feed(0).unwrap();
            apt.feed((i + 1) as u8).unwrap();
            fed += 2;
        }
        assert!(fed < APT_WINDOW);
        assert_eq!(
            apt.feed(0),
            Err(HealthFailure::AdaptiveProportion {
                value: 0,
                cutoff: 13
            })
        );
        // The count restarts with each window.
        let mut apt = AdaptiveProportion::new(MinEntropy::FULL);
        for i in 0..(APT_WINDOW * 8) {
            let v = if i % APT_WINDOW < 12 {
                0
            } else {
                (i % 250 + 1) as u8
            };
            apt.feed(v).unwrap();
        }
    }

    #[test]
    fn stuck_output() {
        let mut s = StuckOutput::new();
        let a: [u8; STUCK_BLOCK] = core::array::from_fn(|i| i as u8);
        let b: [u8; STUCK_BLOCK] = core::array::from_fn(|i| (i * 3 + 1) as u8);
        s.feed(&a).unwrap();
        s.feed(&b).unwrap();
        s.feed(&a).unwrap();
        assert_eq!(s.feed(&a), Err(HealthFailure::StuckOutput));
        let mut s = StuckOutput::new();
        assert_eq!(
            s.feed(&[0xff; STUCK_BLOCK]),
            Err(HealthFailure::StuckOutput)
        );
    }
}
