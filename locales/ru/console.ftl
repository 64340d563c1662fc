# The operator's console (`kelisim-relay console`): the operator's own words, not the
# visitor's. Built into the relay (not shipped in the manifest); every key starts with
# `console-` so it never meets a site string. Terms as the policy uses them: «Оператор»,
# «персональные данные».

console-title = Консоль оператора
console-skip = Перейти к основному содержанию
console-nav-label = Разделы консоли
console-nav-inbox = Сообщения
console-nav-requests = Запросы
console-nav-deliveries = Письма
console-nav-mailing = Список рассылки
console-nav-audit = Журнал действий
console-language-label = Язык консоли
console-operator = От имени оператора: { $name }
console-stop = Остановить консоль
console-stopped-title = Консоль остановлена
console-stopped-body = Хранилище записей закрыто. Эту страницу можно закрыть. Чтобы открыть консоль снова, запустите `kelisim-relay console` ещё раз.

console-forbidden-title = Доступ закрыт
console-forbidden-body = Консоль открывается только тому, кто её запустил. Запустите на сервере `kelisim-relay console` и откройте ссылку, которую она покажет. Если вы подключаетесь к серверу по SSH, сначала пробросьте порт: `ssh -L 8788:127.0.0.1:8788 сервер`.
console-token-used = Эта ссылка уже использована или недействительна. Каждая ссылка открывается только один раз.
console-forbidden-host = В консоль можно войти только с этого компьютера (127.0.0.1 или localhost).
console-forbidden-post = Запрос пришёл не со страницы консоли, поэтому ничего не изменено. Откройте страницу заново и повторите действие.
console-not-found = Такой страницы нет.
console-store-failed = Хранилище записей не ответило ({ $detail }). Ничего не изменено; попробуйте ещё раз чуть позже.
console-back-to-inbox = Вернуться к сообщениям

console-inbox-title = Сообщения
console-filter-label = Показать
console-filter-unanswered = Без ответа
console-filter-answered = С ответом
console-filter-all = Все
console-filter-blocked = Заблокированные
console-inbox-empty = В этом списке сообщений нет.
console-inbox-oldest-first = Сначала старые.
console-col-received = Получено
console-col-age = Ждёт
console-col-from = Отправитель
console-col-language = Язык
console-col-purposes = Цели согласия
console-col-message = Сообщение
console-answered-tag = отвечено
console-no-purpose = нет
console-next-page = Следующая страница
console-first-page = К первой странице
console-age-minutes = { $minutes ->
    [one] { $minutes } минуту
    [few] { $minutes } минуты
   *[many] { $minutes } минут
}
console-age-hours = { $hours ->
    [one] { $hours } час
    [few] { $hours } часа
   *[many] { $hours } часов
}
console-age-days = { $days ->
    [one] { $days } день
    [few] { $days } дня
   *[many] { $days } дней
}
console-done-answered = Сообщение отмечено как отвеченное.
console-done-already = Сообщение уже было отмечено как отвеченное ({ $name }).

console-record-title = Сообщение
console-record-gone = Такой записи нет: возможно, она удалена.
console-record-fields = Отправитель и сообщение
console-field-surname = Фамилия
console-field-first_name = Имя
console-field-patronymic = Отчество
console-field-email = Электронная почта
console-field-phone = Телефон
console-field-message = Сообщение
console-field-not-held = не хранится
console-record-received = Получено
console-record-language = Язык
console-record-shelf = Состояние
console-shelf-unanswered = ждёт ответа
console-shelf-answered = отвечено: { $date }, { $name }
console-shelf-blocked = обработка приостановлена (заблокировано)
console-shelf-closed = согласие отозвано или запись обезличена
console-record-revision = Версия

console-stamp-title = Отметка о согласии
console-stamp-policy = Принятая политика
console-stamp-policy-link = редакция { $version } ({ $lang })
console-stamp-method = Способ сбора
console-method-form_post = форма без сценария
console-method-script = форма со сценарием
console-stamp-page = Страница формы
console-stamp-storage = Место хранения
console-stamp-kept = Хранится до

console-purposes-title = Цели
console-col-purpose = Цель
console-col-state = Состояние
console-col-until = Срок
console-consent-not_granted = согласие не дано
console-consent-pending = ждёт подтверждения
console-consent-active = действует
console-consent-lapsed = не подтверждено
console-consent-withdrawn = отозвано
console-consent-expired = срок истёк

console-history-title = История исправлений
console-history-empty = Запись не исправлялась.
console-history-entry = { $date }: изменено { $fields }
console-history-old = прежнее значение хранится до { $until }: { $value }

console-record-audit = Действия с этой записью
console-audit-empty = Действий нет.

console-actions-title = Действия
console-actions-note = Каждое действие, меняющее данные, сначала показывает, что изменится, и выполняется только после подтверждения.
console-action-answer = Отметить как отвеченное
console-action-reply = Ответить письмом
console-reply-subject = { $operator }: ответ на ваше обращение от { $date }
console-action-export-html = Скачать отчёт (HTML)
console-action-export-json = Скачать запись (JSON)
console-action-rectify = Исправить данные
console-action-block = Приостановить обработку (заблокировать)
console-action-unblock = Возобновить обработку
console-action-withdraw = Отозвать согласие
console-withdraw-purpose = Цель
console-action-anonymize = Обезличить
console-action-erase = Удалить безвозвратно

console-plan-title = Что изменится
console-plan-intro = { $count ->
    [one] Будет изменена { $count } запись.
    [few] Будут изменены { $count } записи.
   *[many] Будут изменены { $count } записей.
} Ниже — план, который показывает `--dry-run`.
console-plan-unchanged = { $count ->
    [one] Ещё { $count } запись не изменится.
    [few] Ещё { $count } записи не изменятся.
   *[many] Ещё { $count } записей не изменятся.
}
console-plan-empty = Изменять нечего.
console-plan-confirm = Подтвердить и выполнить
console-plan-continue = Продолжить
console-plan-cancel = Отмена
console-plan-done = { $count ->
    [one] Выполнено: изменена { $count } запись.
    [few] Выполнено: изменены { $count } записи.
   *[many] Выполнено: изменено { $count } записей.
}
console-plan-moved = Запись изменилась после того, как был показан план, поэтому ничего не выполнено. Откройте запись заново и составьте план ещё раз.
console-plan-unknown = Этот план уже выполнен или устарел; ничего не изменено.
console-plan-failed = План не выполнен: { $detail }

console-rectify-title = Исправление данных
console-rectify-intro = Исправьте только то, что изменилось. Каждое значение проверяется так же, как в форме обратной связи; прежние значения 30 дней хранятся в истории исправлений.
console-rectify-submit = Показать, что изменится
console-rectify-nothing = Ни одно поле не изменено.
console-rectify-not-held = Это поле в записи больше не хранится, исправлять нечего.

console-requests-title = Запросы субъектов персональных данных
console-requests-empty = Открытых запросов нет.
console-requests-due-first = Сначала те, у которых срок ближе.
console-col-kind = Вид
console-col-due = Срок ответа
console-col-status = Срок
console-col-channel = Откуда
console-col-request = Запрос
console-due-overdue = { $days ->
    [one] просрочен на { $days } день
    [few] просрочен на { $days } дня
   *[many] просрочен на { $days } дней
}
console-due-today = сегодня
console-due-in = { $days ->
    [one] остался { $days } день
    [few] осталось { $days } дня
   *[many] осталось { $days } дней
}
console-channel-form = форма на сайте, подтверждён по почте
console-channel-operator = письмо или бумага, внесён оператором
console-paper-title = Зарегистрировать запрос, полученный письмом или на бумаге
console-paper-kind = Вид запроса
console-paper-email = Электронная почта заявителя
console-paper-language = Язык ответа
console-paper-submit = Зарегистрировать
console-done-opened = Запрос зарегистрирован.
console-done-closed = Запрос закрыт, его адрес удалён.

console-request-title = Запрос
console-request-gone = Такого запроса нет.
console-request-closed = Этот запрос закрыт ({ $outcome }).
console-request-received = Получен
console-request-confirmed = Подтверждён
console-request-email = Адрес
console-request-language = Язык ответа
console-fulfil-title = Исполнение запроса
console-fulfil-erasure = Удалить всё, что хранится по этому адресу
console-fulfil-withdrawal = Отозвать все согласия по этому адресу
console-fulfil-blocking = Заблокировать все записи по этому адресу
console-fulfil-access = Скачать отчёт о хранимых данных (HTML, на языке заявителя)
console-fulfil-rectification = Найти записи этого адреса
console-found-title = Записи, найденные по этому адресу
console-found-none = По этому адресу ничего не хранится.
console-close-title = Закрыть запрос
console-close-outcome = Итог
console-close-note = При закрытии адрес запроса удаляется; вид, даты и итог остаются.
console-close-submit = Закрыть
console-outcome-done = исполнен
console-outcome-nothing_held = ничего не хранится
console-outcome-refused = отказано
console-outcome-abandoned = не подтверждён или отозван

console-deliveries-title = Отправка писем и уведомлений
console-deliveries-empty = Очередь пуста.
console-deliveries-queued = В очереди
console-deliveries-retrying = Повторные попытки
console-deliveries-withheld = Удержаны (запись заблокирована)
console-deliveries-dead = Недоставленные письма
console-deliveries-dead-note = Эти письма больше не отправляются сами. «Повторить сейчас» снова ставит письмо в очередь.
console-col-item = Письмо
console-col-about = О какой записи или запросе
console-col-attempts = Попыток
console-col-when = Когда
console-col-reason = Причина
console-retry = Повторить сейчас
console-done-retried = Письмо снова в очереди; оно уйдёт в следующий цикл отправки.
console-item-notify-operator = Уведомление оператору о новом сообщении
console-item-confirm-purpose = Ссылка для подтверждения подписки
console-item-confirm-request = Ссылка для подтверждения запроса
console-item-notify-request = Уведомление оператору о запросе

console-mailing-title = Список рассылки
console-mailing-intro = Только подтверждённые согласия (двойное подтверждение). Каждое скачивание записывается в журнал действий.
console-mailing-purpose = Цель
console-mailing-count = { $count ->
    [one] В списке { $count } человек.
    [few] В списке { $count } человека.
   *[many] В списке { $count } человек.
}
console-mailing-csv = Скачать CSV (Excel)
console-mailing-json = Скачать JSON

console-audit-title = Журнал действий
console-audit-filter = Показать
console-audit-action = Действие
console-audit-any = любое
console-audit-actor = Кто выполнил
console-audit-from = С
console-audit-to = По
console-audit-shown = Показаны последние записи ({ $count }), сначала новые.
console-col-at = Время
console-col-actor = Кто
console-col-action = Действие
console-col-record = Запись
console-col-affected = Записей
console-col-detail = Подробности
console-bad-date = Укажите дату в виде ГГГГ-ММ-ДД, например 2026-03-02.
