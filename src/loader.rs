//! Finds imported modules on disk: `import a.b.*;` in `dir/x.iov` reads `dir/a/b.iov`,
//! then each `-I` directory in order.

use std::path::PathBuf;

pub struct FsLoader {
    include: Vec<PathBuf>,
}

impl FsLoader {
    pub fn new(include: Vec<PathBuf>) -> FsLoader {
        FsLoader { include }
    }
}

impl iov_sema::Loader for FsLoader {
    fn load(&mut self, from: &str, path: &[String]) -> Result<(String, String), String> {
        let rel: PathBuf = path.iter().collect::<PathBuf>().with_extension("iov");
        let base = std::path::Path::new(from)
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let mut tried = Vec::new();
        for dir in std::iter::once(base).chain(self.include.iter().cloned()) {
            let candidate = dir.join(&rel);
            match std::fs::read_to_string(&candidate) {
                Ok(text) => return Ok((candidate.display().to_string(), text)),
                Err(_) => tried.push(candidate.display().to_string()),
            }
        }
        Err(format!("looked for {}", tried.join(", ")))
    }
}
