# The relay's own words (kelisim-relay, the Lambda bootstrap, kelisim serve): plain text, not
# HTML. `kelisim build` ships this file to the relay inside consent-manifest.json, so an edit
# here reaches the relay with the next build. Terms as the policy uses them: «Оператор»,
# «дербес деректер».

relay-unavailable = Қызмет уақытша қолжетімсіз, өтінішіңіз сақталған жоқ. Бір минуттан кейін қайталап көріңіз.
relay-payload-too-large = Өтініш тым үлкен. Хабарламаны қысқартып, қайта жіберіңіз.
relay-method-not-allowed = Бұл мекенжай тек форманы жіберуді қабылдайды.
relay-forbidden-origin = Форманы тек біздің сайттың бетінен жіберуге болады.
relay-unsupported-media-type = Форманы оқу мүмкін болмады: деректер пішімі қолдау көрсетілмейді.
relay-confirmed = Жазылу расталды. Рақмет!
relay-confirm-failed = Растау сілтемесі жарамсыз, мерзімі өткен немесе бұрын қолданылған. Ештеңе өзгертілген жоқ.
relay-back-to-form = Формаға оралу
relay-link-grant = Ақпараттық хаттарға жазылуды растау үшін төмендегі батырманы басыңыз.
relay-link-request = Дербес деректер бойынша өтінішіңізді растау үшін төмендегі батырманы басыңыз.
relay-link-button = Растау
relay-request-confirmed = Өтінішіңіз расталды. Оператор оны белгіленген мерзімде қарайды.

relay-field-required = Бұл өрісті толтырыңыз.
relay-field-too_long = Мәтін тым ұзын. Оны қысқартыңыз.
relay-field-invalid_email = Электрондық пошта мекенжайын тексеріңіз, мысалы: name@example.kz.
relay-field-invalid_phone = Телефон нөмірін тексеріңіз, мысалы: +7 701 123 45 67 немесе 8 701 123 45 67.
relay-field-consent_required = Өтінішіңізге жауап беруіміз үшін дербес деректерді өңдеуге келісіміңіз қажет.
relay-field-unknown_field = Формада мұндай өріс жоқ.
relay-field-policy_mismatch = Дербес деректерді өңдеуге қатысты саясат жаңартылды. Бетті қайта жүктеп, жаңа редакциямен танысыңыз.
relay-field-invalid_lang = Форма тілі белгісіз.
relay-field-invalid_encoding = Деректерді оқу мүмкін болмады. Форманы қайта жіберіп көріңіз.
relay-field-invalid_characters = Көрінбейтін немесе басқарушы таңбаларды (мысалы, мәтін бағытын өзгертетін таңбаларды) алып тастаңыз.
relay-field-idempotency_conflict = Бұл өтініш бұрын басқа мазмұнмен жіберілген. Бетті қайта жүктеп, форманы қайта жіберіңіз.
relay-field-rate_limited = Тым көп өтініш жіберілді. Біраз уақыттан кейін қайталап көріңіз.

# The double opt-in mail to the visitor who ticked the newsletter box.
mail-confirm-subject = { $operator }: ақпараттық хаттарға жазылуды растаңыз
mail-confirm-body =
    Сәлеметсіз бе!

    Біреу (бәлкім, сіз) { $website } сайтындағы байланыс нысанында осы мекенжайды көрсетіп, Оператордан ({ $operator }) ақпараттық хаттар алуға келісім берді.

    Жазылуды растау үшін мына сілтемені ашыңыз:
    { $link }

    Сілтеме { $days ->
        [one] { $days } күн
       *[other] { $days } күн
    } жарамды. Егер сіз жазылмаған болсаңыз, бұл хатқа жауап бермеңіз: расталмаған келісім күшіне енбейді, сізге ақпараттық хаттар жіберілмейді. Басқа ештеңе өзгермейді.

    Дербес деректерді өңдеуге қатысты саясат: { $policy_url }

# The notification to the operator. No personal data unless `include_personal_data = true`.
mail-notify-subject = { $website }: жаңа хабарлама { $id }
mail-notify-body =
    Байланыс нысаны арқылы жаңа хабарлама келді.

    Жазба: { $id }
    Алынған уақыты (UTC): { $received_at }
    Тілі: { $language }
    Мақсаттар: { $purposes }

    Хабарламаны оқу:
        kelisim-relay records show { $id }
    Жауап бергеннен кейін:
        kelisim-relay records answer { $id }
mail-notify-personal = Хабарлама (include_personal_data = true параметрі қосулы):

# Data-subject requests (the request page, its confirmation mail, the operator's notice).
request-kind-access = Мен туралы қандай дербес деректер сақталғанын білу
request-kind-rectification = Дербес деректерімді түзету
request-kind-withdrawal = Дербес деректерді өңдеуге келісімімді кері қайтарып алу
request-kind-blocking = Дербес деректерімді бұғаттау
request-kind-erasure = Дербес деректерімді жою
mail-request-subject = { $operator }: өтінішіңізді растаңыз
mail-request-body =
    Сәлеметсіз бе!

    Біреу (бәлкім, сіз) { $website } сайтындағы өтініш бетінде осы мекенжайды көрсетіп, Операторға ({ $operator }) мынадай өтініш жіберді: { $kind }.

    Өтінішті растау үшін мына сілтемені ашыңыз:
    { $link }

    Сілтеме { $days ->
        [one] { $days } күн
       *[other] { $days } күн
    } жарамды. Оператор растауды алғаннан кейін ғана өтінішті қарайды, сондықтан басқа біреу сіздің атыңыздан өтініш бере алмайды. Егер сіз өтініш жібермеген болсаңыз, бұл хатқа жауап бермеңіз.
mail-request-notify-subject = { $website }: дербес деректер субъектісінің өтініші расталды ({ $kind })
mail-request-notify-body =
    Дербес деректер субъектісінің өтініші электрондық пошта арқылы расталды.

    Өтініш: { $id }
    Түрі: { $kind }
    Тілі: { $language }
    Жауап беру мерзімі: { $due }

    Өтініштер тізімі:
        kelisim-relay requests list
    Өтінішті орындағаннан кейін:
        kelisim-relay requests close { $id } --outcome done

# Names for the operator's notification: the purposes, and the languages as this language
# writes them.
purpose-reply = сұрауға жауап беру
purpose-newsletter = ақпараттық хаттар жіберу
language-kk = қазақ тілі
language-ru = орыс тілі

# The answer to an access request (`kelisim-relay records export --format html`), in the
# person's language. Plain text: the relay escapes it into the page.
report-title = Сіз туралы сақталатын дербес деректер
report-intro = Оператор ({ $operator }) сіз туралы сақтайтын дербес деректердің толық тізбесі.
report-date = Анықтама жасалған күн: { $date }
report-contact = Оператордың электрондық поштасы:
report-none = Оператор сіз туралы ешқандай дербес дерек сақтамайды.
report-record = Өтініш № { $number }
report-received = Алынған күні
report-kept-until = Сақталу мерзімі
report-state = Күйі
report-state-active = өңделуде
report-state-withdrawn = келісім кері қайтарылды
report-state-anonymized = иесіздендірілді
report-blocked = өңдеу уақытша тоқтатылды (бұғаттау)
report-storage = Сақталатын орны
report-data-held = Сақталатын дербес деректер
report-field-surname = Тегі
report-field-first_name = Аты
report-field-patronymic = Әкесінің аты
report-field-email = Электрондық пошта
report-field-phone = Телефон
report-field-message = Хабарлама
report-removed = жойылды ({ $date })
report-purposes = Өңдеу мақсаттары
report-purpose = Мақсат
report-granted = Келісім берілді
report-legal-basis = Құқықтық негіз
report-until = Мерзімі
report-yes = иә
report-no = жоқ
report-pending = иә, бірақ электрондық пошта арқылы әлі расталмаған
report-lapsed = расталмады, күшіне енбеді
report-withdrawn-on = кері қайтарылды ({ $date })
report-policy = Сіз келісім берген дербес деректерді өңдеуге қатысты саясат
report-policy-version = { $version } редакциясы
report-corrections = Түзетулер

# The site's own facts in words, for the access report. Each purpose's legal basis
# (`legal-basis-<purpose id>`; without one the report shows `legal_basis` from site.toml).
legal-basis-reply = дербес деректер субъектісінің келісімі («Дербес деректер және оларды қорғау туралы» Қазақстан Республикасының 2013 жылғы 21 мамырдағы № 94-V Заңы, 7–8-баптар)
legal-basis-newsletter = дербес деректер субъектісінің алдын ала келісімі («Дербес деректер және оларды қорғау туралы» Қазақстан Республикасының 2013 жылғы 21 мамырдағы № 94-V Заңы, 8-бап; Саясаттың 4.1-тармағы)
# Where records are kept, in words. The relay stamps its `storage_location` setting into each
# record; `.stamped` is that setting exactly as configured, and the report shows these words
# only for records stamped with it (any other record shows its stamp as is).
storage-location = Алматы қаласы, Қазақстан: Оператордың өз серверіндегі дерекқор
    .stamped = Almaty, KZ: SQLite on the operator's server
