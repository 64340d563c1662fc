//! The relay's own words to the visitor, in Kazakh and Russian.
//!
//! A small table rather than a Fluent bundle: the relay says about fifteen short sentences
//! with no plurals or variables worth a runtime, and a table is checked by the compiler (a
//! missing translation is a missing match arm). Any language other than `ru` reads Kazakh, the
//! site's default language.

use crate::fields::ErrorCode;

/// What the relay can tell a visitor, beyond the per-field codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A field was refused.
    Field(ErrorCode),
    /// The store could not confirm the write (503).
    Unavailable,
    /// The body is over the size limit (413).
    PayloadTooLarge,
    /// A method other than POST or OPTIONS (405).
    MethodNotAllowed,
    /// A request from a page on another site (403).
    ForbiddenOrigin,
    /// Neither a form post nor JSON (415).
    UnsupportedMediaType,
}

/// The text of `notice` in `lang` (`kk` or `ru`; anything else falls back to `kk`).
pub fn text(lang: &str, notice: Notice) -> &'static str {
    let ru = lang == "ru";
    match notice {
        Notice::Field(code) => field_text(ru, code),
        Notice::Unavailable => {
            if ru {
                "Сервис временно недоступен, и ваше обращение не сохранено. Пожалуйста, повторите попытку через минуту."
            } else {
                "Қызмет уақытша қолжетімсіз, өтінішіңіз сақталған жоқ. Бір минуттан кейін қайталап көріңіз."
            }
        }
        Notice::PayloadTooLarge => {
            if ru {
                "Обращение слишком большое. Сократите сообщение и отправьте снова."
            } else {
                "Өтініш тым үлкен. Хабарламаны қысқартып, қайта жіберіңіз."
            }
        }
        Notice::MethodNotAllowed => {
            if ru {
                "Этот адрес принимает только отправку формы."
            } else {
                "Бұл мекенжай тек форманы жіберуді қабылдайды."
            }
        }
        Notice::ForbiddenOrigin => {
            if ru {
                "Форму можно отправить только со страницы нашего сайта."
            } else {
                "Форманы тек біздің сайттың бетінен жіберуге болады."
            }
        }
        Notice::UnsupportedMediaType => {
            if ru {
                "Не удалось прочитать форму: неподдерживаемый формат данных."
            } else {
                "Форманы оқу мүмкін болмады: деректер пішімі қолдау көрсетілмейді."
            }
        }
    }
}

fn field_text(ru: bool, code: ErrorCode) -> &'static str {
    match (code, ru) {
        (ErrorCode::Required, false) => "Бұл өрісті толтырыңыз.",
        (ErrorCode::Required, true) => "Заполните это поле.",
        (ErrorCode::TooLong, false) => "Мәтін тым ұзын. Оны қысқартыңыз.",
        (ErrorCode::TooLong, true) => "Слишком длинный текст. Сократите его.",
        (ErrorCode::InvalidEmail, false) => {
            "Электрондық пошта мекенжайын тексеріңіз, мысалы: name@example.kz."
        }
        (ErrorCode::InvalidEmail, true) => {
            "Проверьте адрес электронной почты, например: name@example.kz."
        }
        (ErrorCode::InvalidPhone, false) => {
            "Телефон нөмірін тексеріңіз, мысалы: +7 701 123 45 67 немесе 8 701 123 45 67."
        }
        (ErrorCode::InvalidPhone, true) => {
            "Проверьте номер телефона, например: +7 701 123 45 67 или 8 701 123 45 67."
        }
        (ErrorCode::ConsentRequired, false) => {
            "Өтінішіңізге жауап беруіміз үшін дербес деректерді өңдеуге келісіміңіз қажет."
        }
        (ErrorCode::ConsentRequired, true) => {
            "Чтобы мы могли ответить на обращение, нужно ваше согласие на обработку персональных данных."
        }
        (ErrorCode::UnknownField, false) => "Формада мұндай өріс жоқ.",
        (ErrorCode::UnknownField, true) => "В форме нет такого поля.",
        (ErrorCode::PolicyMismatch, false) => {
            "Құпиялылық саясаты жаңартылды. Бетті қайта жүктеп, жаңа редакциямен танысыңыз."
        }
        (ErrorCode::PolicyMismatch, true) => {
            "Политика конфиденциальности обновилась. Обновите страницу и ознакомьтесь с новой редакцией."
        }
        (ErrorCode::InvalidLang, false) => "Форма тілі белгісіз.",
        (ErrorCode::InvalidLang, true) => "Неизвестный язык формы.",
        (ErrorCode::InvalidEncoding, false) => {
            "Деректерді оқу мүмкін болмады. Форманы қайта жіберіп көріңіз."
        }
        (ErrorCode::InvalidEncoding, true) => {
            "Не удалось прочитать данные. Попробуйте отправить форму ещё раз."
        }
        (ErrorCode::RateLimited, false) => {
            "Тым көп өтініш жіберілді. Біраз уақыттан кейін қайталап көріңіз."
        }
        (ErrorCode::RateLimited, true) => {
            "Слишком много обращений подряд. Пожалуйста, повторите попытку немного позже."
        }
    }
}

/// The link text back to the contact form, on the relay's own HTML error pages.
pub fn back_to_form(lang: &str) -> &'static str {
    if lang == "ru" {
        "Вернуться к форме"
    } else {
        "Формаға оралу"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_distinct_kazakh_and_russian_texts() {
        for code in ErrorCode::ALL {
            let kk = text("kk", Notice::Field(code));
            let ru = text("ru", Notice::Field(code));
            assert_ne!(kk, ru, "{code}");
            assert!(kk.ends_with('.') && ru.ends_with('.'), "{code}");
        }
        assert_eq!(
            text("de", Notice::Unavailable),
            text("kk", Notice::Unavailable)
        );
    }
}
