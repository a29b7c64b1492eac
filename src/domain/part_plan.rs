//! Part-size planning: the gateway, not the client, decides how a file is cut, within what
//! storage allows (a minimum part size, a maximum part size, at most 10,000 parts).

/// Storage's limit on the number of parts of one object (OSS and S3 alike).
pub const MAX_PARTS: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub part_size: u64,
    pub part_count: u32,
}

pub struct Limits {
    pub min_part: u64,
    pub max_part: u64,
    pub default_part: u64,
}

/// Chooses the part size for `size` bytes: the client's preference (or the default), raised
/// to storage's minimum and to what keeps the count within 10,000, capped at the maximum.
pub fn plan(size: u64, preferred: Option<u64>, l: &Limits) -> Result<PartPlan, String> {
    let needed = size.div_ceil(u64::from(MAX_PARTS));
    if needed > l.max_part {
        return Err(format!(
            "{size} bytes cannot be uploaded in at most {MAX_PARTS} parts of at most {} bytes",
            l.max_part
        ));
    }
    if let Some(p) = preferred
        && (p < l.min_part || p > l.max_part)
    {
        return Err(format!(
            "part_size must be between {} and {} bytes",
            l.min_part, l.max_part
        ));
    }
    let part_size = preferred
        .unwrap_or(l.default_part)
        .max(l.min_part)
        .max(needed)
        .min(l.max_part);
    let part_count = size.div_ceil(part_size).max(1);
    Ok(PartPlan {
        part_size,
        part_count: u32::try_from(part_count).expect("bounded by MAX_PARTS above"),
    })
}

/// Size of part `n` (1-based) under `plan` for a `size`-byte file.
pub fn part_len(plan: &PartPlan, size: u64, n: u32) -> u64 {
    if n < plan.part_count {
        plan.part_size
    } else {
        size - plan.part_size * u64::from(plan.part_count - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OSS: Limits = Limits {
        min_part: 100 * 1024,
        max_part: 5 << 30,
        default_part: 8 << 20,
    };

    #[test]
    fn small_and_large_files() {
        assert_eq!(
            plan(0, None, &OSS).unwrap(),
            PartPlan {
                part_size: 8 << 20,
                part_count: 1
            }
        );
        assert_eq!(plan(20 << 20, None, &OSS).unwrap().part_count, 3);
        // 1 TiB does not fit 10,000 parts of 8 MiB: the part grows.
        let p = plan(1 << 40, None, &OSS).unwrap();
        assert!(p.part_count <= MAX_PARTS && p.part_size > 8 << 20);
        // A preference below storage's minimum is refused, not silently raised.
        assert!(plan(1 << 20, Some(1024), &OSS).is_err());
        assert_eq!(plan(1 << 20, Some(200 * 1024), &OSS).unwrap().part_count, 6);
        assert!(plan(u64::MAX / 2, None, &OSS).is_err());
    }

    proptest! {
        #[test]
        fn plans_cover_the_file_within_limits(size in 0u64..(1 << 45), pref in proptest::option::of(100u64 * 1024..(1 << 30))) {
            let p = plan(size, pref, &OSS).unwrap();
            prop_assert!(p.part_count >= 1 && p.part_count <= MAX_PARTS);
            prop_assert!(p.part_size >= OSS.min_part && p.part_size <= OSS.max_part);
            prop_assert!(p.part_size * u64::from(p.part_count) >= size);
            prop_assert!(size == 0 || p.part_size * u64::from(p.part_count - 1) < size);
            let last = part_len(&p, size, p.part_count);
            prop_assert!(last <= p.part_size);
        }
    }
}
