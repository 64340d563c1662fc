//! `kelisim init DIR`: a new site from the default theme, ready to build.
//!
//! Zola's `zola init` and Hugo's `hugo new site` leave an editor with a folder that builds. A
//! kelisim site only builds with a policy, a contact form and its result pages in every
//! language, so `init` writes all of them: the default theme, the Fluent strings and the
//! pages are this repository's own, compiled into the binary (one copy, not a second
//! starter that would drift), with the first operator's name, address and site replaced by
//! the ones given. The policy itself is never copied: one operator's legal text is not
//! another's. Each language gets a placeholder policy with the twelve section headings and
//! `{#section-N}` anchors the pages link to, marked `placeholder = true`: `kelisim serve`
//! previews it with a notice, but `kelisim build` refuses to publish or lock it until the
//! operator's own text replaces it and the mark is removed (the first real text is 1.0).

use std::path::{Path, PathBuf};

use time::Date;

/// What the new site is about: the operator's facts that go into `site.toml`, the pages and
/// the strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The organisation's name without its legal form («…» ЖШС, ТОО «…» are kept).
    pub operator: String,
    /// The address for data-subject requests.
    pub email: String,
    /// Where the site will be published, `https://…`.
    pub base_url: String,
    /// The placeholder policy's effective date.
    pub effective: Date,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            operator: "Example Company".to_owned(),
            email: "info@example.kz".to_owned(),
            base_url: "https://example.kz".to_owned(),
            effective: crate::commands::new_version::today(),
        }
    }
}

/// Why no site was created.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{0}: the folder is not empty. `kelisim init` only writes into a new or empty folder, so nothing of yours is overwritten; pick another path."
    )]
    NotEmpty(PathBuf),
    #[error(
        "--base-url `{0}` is not an absolute http(s) URL such as https://example.kz (no path)."
    )]
    BaseUrl(String),
    #[error("--email `{0}` is not an email address such as info@example.kz.")]
    Email(String),
    #[error(
        "--operator must be a name on one line without quotes or «», for example `Example Company`."
    )]
    Operator,
    #[error("{path}: could not write it: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The first operator's facts as this repository's files write them; `init` replaces them.
const OPERATOR: &str = "Z Distribution Company";
const EMAIL: &str = "info@woow.kz";
const BASE_URL: &str = "https://woow.kz";
const HOST: &str = "woow.kz";

/// A file of this repository compiled into the binary, by its path from the repository root
/// (the same path it gets in the new site).
macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../", $path)))),*]
    };
}

/// Every file of the default theme. A test checks this list against `themes/default/`, so
/// a template added there cannot be missing from new sites.
pub const THEME: &[(&str, &str)] = embedded!(
    "themes/default/static/favicon.svg",
    "themes/default/static/form.js",
    "themes/default/static/style.css",
    "themes/default/templates/404.html",
    "themes/default/templates/_field.html",
    "themes/default/templates/_languages.html",
    "themes/default/templates/base.html",
    "themes/default/templates/chooser.html",
    "themes/default/templates/confirm-link.html",
    "themes/default/templates/contact.html",
    "themes/default/templates/form-error.html",
    "themes/default/templates/index.html",
    "themes/default/templates/page.html",
    "themes/default/templates/policy.html",
    "themes/default/templates/redirect.html",
    "themes/default/templates/request.html",
    "themes/default/templates/thanks.html",
);

/// The site's settings, strings and every page but the policy, in both languages.
const SITE: &[(&str, &str)] = embedded!(
    "site.toml",
    "locales/kk/main.ftl",
    "locales/kk/relay.ftl",
    "locales/ru/main.ftl",
    "locales/ru/relay.ftl",
    "content/kk/404.md",
    "content/kk/_index.md",
    "content/kk/confirm-error.md",
    "content/kk/confirmed.md",
    "content/kk/contact.md",
    "content/kk/error.md",
    "content/kk/request-confirm-error.md",
    "content/kk/request-confirmed.md",
    "content/kk/request-error.md",
    "content/kk/request-sent.md",
    "content/kk/request.md",
    "content/kk/thanks.md",
    "content/ru/404.md",
    "content/ru/_index.md",
    "content/ru/confirm-error.md",
    "content/ru/confirmed.md",
    "content/ru/contact.md",
    "content/ru/error.md",
    "content/ru/request-confirm-error.md",
    "content/ru/request-confirmed.md",
    "content/ru/request-error.md",
    "content/ru/request-sent.md",
    "content/ru/request.md",
    "content/ru/thanks.md",
);

/// The placeholder policy's section headings, as the seed policy numbers them, per language.
const SECTIONS: [(&str, &str); 12] = [
    ("Жалпы ережелер", "Общие положения"),
    (
        "Саясатта қолданылатын негізгі ұғымдар",
        "Основные понятия, используемые в Политике",
    ),
    (
        "Оператордың негізгі құқықтары мен міндеттері",
        "Основные права и обязанности Оператора",
    ),
    (
        "Дербес деректер субъектілерінің негізгі құқықтары мен міндеттері",
        "Основные права и обязанности субъектов персональных данных",
    ),
    (
        "Дербес деректерді өңдеу қағидаттары",
        "Принципы обработки персональных данных",
    ),
    (
        "Дербес деректерді өңдеу мақсаттары",
        "Цели обработки персональных данных",
    ),
    (
        "Дербес деректерді өңдеу шарттары",
        "Условия обработки персональных данных",
    ),
    (
        "Дербес деректерді жинау, сақтау, беру және өңдеудің басқа да түрлерінің тәртібі",
        "Порядок сбора, хранения, передачи и других видов обработки персональных данных",
    ),
    (
        "Оператордың алынған дербес деректермен жүргізетін іс-қимылдар тізбесі",
        "Перечень действий, производимых Оператором с полученными персональными данными",
    ),
    (
        "Дербес деректерді трансшекаралық беру",
        "Трансграничная передача персональных данных",
    ),
    (
        "Дербес деректердің құпиялылығы",
        "Конфиденциальность персональных данных",
    ),
    ("Қорытынды ережелер", "Заключительные положения"),
];

/// Creates a new site in `dir` (made if missing; must be empty) and returns the files written,
/// relative to `dir`.
pub fn init(dir: &Path, options: &InitOptions) -> Result<Vec<PathBuf>, InitError> {
    check_options(options)?;
    if dir.exists() && !is_empty_dir(dir) {
        return Err(InitError::NotEmpty(dir.to_path_buf()));
    }
    let files = site_files(options);
    for (rel, text) in &files {
        let path = dir.join(rel);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|source| InitError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

/// Every file of the new site with its text: pure, so tests can read it without a disk.
pub fn site_files(options: &InitOptions) -> Vec<(PathBuf, String)> {
    let host = options
        .base_url
        .split_once("://")
        .map_or(options.base_url.as_str(), |(_, rest)| rest);
    let personalise = |text: &str| {
        text.replace(OPERATOR, &options.operator)
            .replace(EMAIL, &options.email)
            .replace(BASE_URL, &options.base_url)
            .replace(HOST, host)
    };
    let mut files: Vec<(PathBuf, String)> = THEME
        .iter()
        .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
        .collect();
    files.extend(
        SITE.iter()
            .map(|(path, text)| (PathBuf::from(path), personalise(text))),
    );
    // The build's output and the preview's records are not the site's sources.
    files.push((
        PathBuf::from(".gitignore"),
        "/public/\n/.kelisim/\n".to_owned(),
    ));
    for lang in ["kk", "ru"] {
        files.push((
            PathBuf::from(format!("content/{lang}/privacy.md")),
            placeholder_policy(lang, options),
        ));
    }
    files
}

/// A policy page with the seed's twelve headings and anchors and nothing else to agree to:
/// each section says, in its language, that the operator's text goes there. Marked
/// `placeholder = true`, so it is never published or locked as it is.
fn placeholder_policy(lang: &str, options: &InitOptions) -> String {
    let date = kelisim_manifest::dates::iso(options.effective);
    let (title, description, note, body, translation) = if lang == "kk" {
        (
            "Дербес деректерді өңдеуге қатысты саясат",
            format!(
                "«{}» ЖШС дербес деректерді қалай өңдейді және қорғайды.",
                options.operator
            ),
            "Бұл – үлгі. Жарияламас бұрын әр бөлімге Оператордың өз саясатының мәтінін жазыңыз.",
            "Осы бөлімнің мәтінін жазыңыз.",
            String::new(),
        )
    } else {
        (
            "Политика в отношении обработки персональных данных",
            format!(
                "Как ТОО «{}» обрабатывает и защищает персональные данные.",
                options.operator
            ),
            "Это заготовка. Перед публикацией впишите в каждый раздел текст политики Оператора.",
            "Впишите текст этого раздела.",
            "translation_of = \"kk\"\ntranslation_note = \"Перевод на русский язык выполнен Оператором с оригинала на казахском языке. При расхождениях преимущественную силу имеет текст на казахском языке.\"\n".to_owned(),
        )
    };
    let mut text = format!(
        "+++\ntitle = \"{title}\"\ndescription = \"{description}\"\ntemplate = \"policy.html\"\nversion = \"1.0\"\neffective_date = \"{date}\"\ndate = {date}\ntoc = true\n# Remove this line once the operator's policy is written in: until then the site is not built.\nplaceholder = true\n{translation}+++\n\n{note}\n"
    );
    for (n, (kk, ru)) in SECTIONS.iter().enumerate() {
        let heading = if lang == "kk" { kk } else { ru };
        let n = n + 1;
        text.push_str(&format!("\n## {n}. {heading} {{#section-{n}}}\n\n{body}\n"));
    }
    text
}

fn check_options(options: &InitOptions) -> Result<(), InitError> {
    let url = &options.base_url;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if !rest.is_some_and(|host| {
        !host.is_empty() && !host.contains(['/', '"', '\\', ' ', '?', '#', '@'])
    }) {
        return Err(InitError::BaseUrl(url.clone()));
    }
    let email = &options.email;
    let valid_email = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    }) && !email.contains(['"', '\\', ' ', '(', ')', '[', ']', '<', '>']);
    if !valid_email {
        return Err(InitError::Email(email.clone()));
    }
    let name = options.operator.trim();
    if name.is_empty()
        || name != options.operator
        || options.operator.contains([
            '"', '\\', '\n', '\r', '«', '»', '{', '}', '[', ']', '<', '>',
        ])
    {
        return Err(InitError::Operator);
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}
