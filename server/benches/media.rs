//! How long an image upload of about 4 MB takes to process: decode, turn upright, re-encode
//! without metadata, thumbnail and blurhash (what `POST /api/v2/media` does on its blocking
//! thread before writing two files). Target: under 1 s.
//!
//!     cargo bench -p hearth --bench media

use image::{DynamicImage, RgbImage, codecs::jpeg::JpegEncoder};
use std::time::{Duration, Instant};

/// A photo-like image: smooth gradients with sensor-like noise, which JPEG cannot squeeze
/// much (a flat test image would be a few kilobytes, and fast for the wrong reason).
fn photo(width: u32, height: u32) -> RgbImage {
    let mut state: u32 = 0x9E37_79B9;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        i32::try_from(state % 23).unwrap_or(0) - 11
    };
    RgbImage::from_fn(width, height, |x, y| {
        let base = [
            (x * 255 / width) as i32,
            (y * 255 / height) as i32,
            ((x + y) * 255 / (width + height)) as i32,
        ];
        image::Rgb(base.map(|c| (c + noise()).clamp(0, 255) as u8))
    })
}

fn main() {
    // 4000 × 3000: a 12-megapixel phone photo.
    let (width, height) = (4000, 3000);
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(photo(width, height))
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 90))
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "input: {width} x {height} JPEG, {:.2} MB ({} bytes)",
        jpeg.len() as f64 / 1e6,
        jpeg.len()
    );
    let runs = 5;
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let processed = hearth::service::media::process(&jpeg).unwrap_or_else(|e| panic!("{e}"));
        times.push(start.elapsed());
        assert_eq!((processed.width, processed.height), (width, height));
        std::hint::black_box(processed);
    }
    times.sort();
    let mut decodes: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(image::load_from_memory(&jpeg).unwrap_or_else(|e| panic!("{e}")));
            start.elapsed()
        })
        .collect();
    decodes.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "of which decoding alone: median {:.0} ms",
        ms(decodes[runs / 2])
    );
    println!(
        "processed (decode, re-encode without metadata, thumbnail, blurhash): median {:.0} ms, \
         min {:.0} ms, max {:.0} ms over {runs} runs; target < 1000 ms",
        ms(times[runs / 2]),
        ms(times[0]),
        ms(times[runs - 1]),
    );
}
