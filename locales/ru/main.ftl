# Русские строки интерфейса (kelisim default theme).
# Message text is HTML and is inserted as written: write & as &amp;.
# Arguments ({ $name }) are escaped by kelisim; counts select plural forms (ru: one, few, many, other).

site-name = ТОО «Z Distribution Company»
site-description = Политика ТОО «Z Distribution Company» в отношении обработки персональных данных и страница для обращений.

skip-link = Перейти к основному содержанию
nav-label = Основное меню
nav-home = Главная
nav-privacy = Политика обработки данных
nav-contact = Обратная связь
languages-label = Язык

footer-operator = Оператор персональных данных: { $operator }

home-read-policy = Прочитать политику в отношении обработки персональных данных
home-contact = Обратная связь: написать Оператору

chooser-title = Выберите язык

policy-version = Версия { $version }
policy-effective = Действует с { $date }
policy-sections = { $count ->
    [one] { $count } раздел
    [few] { $count } раздела
    [many] { $count } разделов
   *[other] { $count } раздела
}
policy-toc-title = Содержание
policy-permanent-link = Постоянный адрес этой версии
policy-versioned-note = Это постоянный адрес версии { $version } политики. <a href="{ $current_url }">Действующая редакция политики</a>.
policy-superseded-note = Версия { $version } политики, вступившая в силу { $date }, утратила силу и больше не применяется. <a href="{ $current_url }">Действующая редакция политики</a>.
policy-previous-title = Предыдущие редакции политики
policy-previous-item = Версия { $version }, вступила в силу { $date }
policy-translation-note = Это перевод. При расхождениях преимущественную силу имеет текст на казахском языке.
policy-original = Оригинал на казахском языке
# Shown only by `kelisim serve`: `kelisim build` refuses to publish a placeholder policy.
policy-placeholder-note = Это заготовка, а не политика Оператора, поэтому сайт в таком виде не публикуется. Впишите в каждый раздел текст политики Оператора и удалите строку <code>placeholder = true</code> в начале файла.
# The page at /privacy/ (the policy's address without a language) that goes on to the policy.
policy-redirect-link = Открыть действующую редакцию Политики

contact-operator-title = Оператор
contact-operator-name = Наименование
contact-operator-email = Электронная почта
contact-operator-website = Веб-сайт

form-title = Написать сообщение
form-required-note = Поля, отмеченные *, обязательны для заполнения.
form-name-legend = Фамилия, имя, отчество
form-surname = Фамилия
form-first-name = Имя
form-patronymic = Отчество (при наличии)
form-email = Электронная почта
form-phone = Номер телефона
form-phone-hint = Например: +7 701 123 45 67
form-message = Сообщение
form-consent-legend = Согласие
# Согласия. Срок хранения для каждой цели берётся из `retention_days` в site.toml: $days, и
# $years, если дни составляют целое число лет (иначе 0). Не пишите срок готовым текстом:
# `kelisim check` сверяет его с site.toml. Опубликованная формулировка закреплена за версией
# политики (policy.lock): меняйте её через `kelisim policy new-version`.
consent-reply = Я даю согласие Оператору ({ $operator }) на обработку указанных в этой форме персональных данных (фамилия, имя, отчество, адрес электронной почты, номер телефона) и моего сообщения для ответа на моё обращение в соответствии с <a href="{ $policy_url }">Политикой в отношении обработки персональных данных</a>. Эти данные и сообщение хранятся не дольше { $years ->
        [0] { $days ->
            [one] { $days } дня
           *[other] { $days } дней
        }
        [one] { $years } года
       *[other] { $years } лет
    } с момента отправки. По истечении этого срока номер телефона и сообщение уничтожаются. Если согласие на информационные письма не дано, фамилия, имя, отчество и адрес электронной почты тоже уничтожаются; если дано, они хранятся в течение срока этого согласия.
consent-newsletter = Я даю согласие Оператору ({ $operator }) на обработку моих персональных данных (фамилия, имя, отчество, адрес электронной почты) для отправки мне информационных писем, которые могут содержать предложения товаров, работ и услуг. Для этой цели данные хранятся до отзыва согласия, но не дольше { $years ->
        [0] { $days ->
            [one] { $days } дня
           *[other] { $days } дней
        }
        [one] { $years } года
       *[other] { $years } лет
    } с момента согласия (необязательно; согласие можно отозвать в любой момент, см. <a href="{ $policy_url }">Политику</a>).
form-honeypot = Оставьте это поле пустым
form-submit = Отправить
form-sending = Отправка…
form-success = Спасибо! Ваше сообщение получено. Оператор ответит на указанный вами адрес электронной почты.
form-invalid = В форме есть ошибки. Проверьте отмеченные поля.
form-network-error = Не удалось отправить сообщение. Проверьте подключение к интернету и попробуйте ещё раз.
form-unavailable = Сервис временно недоступен. Попробуйте ещё раз немного позже.
form-too-large = Сообщение слишком длинное. Сократите текст и отправьте ещё раз.
# The signed consent receipt the relay may send back (a file to keep).
receipt-download = Скачать квитанцию о согласии
receipt-note = Квитанция — файл, подписанный ключом Оператора: в нём указаны версия политики и цели, на которые вы дали согласие. Сохраните его.

error-details-title = Что не так
error-back-to-form = Вернуться к форме
error-field-policy = Версия политики
error-field-lang = Язык
error-field-form = Форма
error-field-kind = Вид запроса

nav-request = Запрос о персональных данных
contact-rights-note = Чтобы воспользоваться правами в отношении ваших персональных данных (узнать, исправить, отозвать согласие, заблокировать, уничтожить), используйте <a href="{ $request_url }">страницу запросов</a>.
policy-rights-note = Права, предусмотренные настоящей Политикой, вы можете осуществить через <a href="{ $request_url }">страницу запросов</a>.
request-kind-legend = О чём вы просите?
request-email-hint = На этот адрес придёт ссылка для подтверждения. Запрос рассматривается только после подтверждения.
request-submit = Отправить запрос

# The "what changed" page of a policy version (§12.2), generated from the previous version.
policy-changes-link = Что изменилось в версии { $version }
policy-changes-title = Изменения в версии { $version } политики
policy-changes-intro = Отличия <a href="{ $url }">версии { $version }</a> политики (действует с { $date }) от <a href="{ $from_url }">версии { $from }</a>. Удалённые слова зачёркнуты, добавленные подчёркнуты.
policy-changes-none = Текст не изменился.
policy-changes-added = Добавлено
policy-changes-removed = Удалено
policy-changes-changed = Изменено

# The page a mailed confirmation link opens: one button confirms (opening the link does not).
link-grant-title = Подтверждение подписки на информационные письма
link-grant-text = В форме обратной связи был указан этот адрес электронной почты и дано согласие на получение информационных писем от Оператора. Если это были вы, подтвердите подписку кнопкой ниже.
link-grant-button = Подтвердить подписку
link-grant-ignore = Если вы не подписывались, просто закройте эту страницу: неподтверждённое согласие не вступает в силу, больше ничего не меняется.
link-request-title = Подтверждение запроса
link-request-text = На странице запросов был указан этот адрес электронной почты и Оператору направлен запрос о персональных данных. Если это были вы, подтвердите запрос кнопкой ниже: Оператор рассматривает запрос только после подтверждения.
link-request-button = Подтвердить запрос
link-request-ignore = Если вы не отправляли запрос, просто закройте эту страницу: неподтверждённый запрос не рассматривается.
