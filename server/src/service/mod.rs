//! The rules of the product, with no HTTP in them.

pub mod accounts;
pub mod instance;
pub mod port;
pub mod urls;

pub use urls::Urls;
