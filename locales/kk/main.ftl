# Қазақша интерфейс жолдары (kelisim default theme).
# Message text is HTML and is inserted as written: write & as &amp;.
# Arguments ({ $name }) are escaped by kelisim; counts select plural forms (kk: one, other).

site-name = «Z Distribution Company» ЖШС
site-description = «Z Distribution Company» ЖШС-нің дербес деректерді өңдеуге қатысты саясаты және байланыс беті.

skip-link = Негізгі мазмұнға өту
nav-label = Негізгі мәзір
nav-home = Басты бет
nav-privacy = Дербес деректер саясаты
nav-contact = Байланыс
languages-label = Тіл

footer-operator = Дербес деректер операторы: { $operator }

home-read-policy = Дербес деректерді өңдеуге қатысты саясатты оқу
home-contact = Операторға жазу

chooser-title = Тілді таңдаңыз

policy-version = Нұсқасы: { $version }
policy-effective = Күшіне енген күні: { $date }
policy-sections = { $count ->
    [one] { $count } бөлім
   *[other] { $count } бөлім
}
policy-toc-title = Мазмұны
policy-permanent-link = Осы нұсқаның тұрақты мекенжайы
policy-versioned-note = Бұл – саясаттың { $version } нұсқасының тұрақты мекенжайы. <a href="{ $current_url }">Саясаттың қолданыстағы нұсқасы</a>.
policy-superseded-note = Бұл – саясаттың { $version } нұсқасы, ол күшін жойған және енді қолданылмайды. Күшіне енген күні: { $date }. <a href="{ $current_url }">Саясаттың қолданыстағы нұсқасы</a>.
policy-previous-title = Саясаттың бұрынғы нұсқалары
policy-previous-item = { $version } нұсқасы, күшіне енген күні: { $date }
policy-translation-note = Бұл – аударма. Мәтіндер арасында алшақтық болса, қазақ тіліндегі мәтін басым болады.
policy-original = Қазақ тіліндегі түпнұсқа
# Shown only by `kelisim serve`: `kelisim build` refuses to publish a placeholder policy.
policy-placeholder-note = Бұл – үлгі, Оператордың саясаты емес, сондықтан сайт осы күйінде жарияланбайды. Әр бөлімге Оператордың саясатының мәтінін жазып, файлдың басындағы <code>placeholder = true</code> жолын өшіріңіз.
# The page at /privacy/ (the policy's address without a language) that goes on to the policy.
policy-redirect-link = Саясаттың қолданыстағы нұсқасын ашу

contact-operator-title = Оператор
contact-operator-name = Атауы
contact-operator-email = Электрондық пошта
contact-operator-website = Веб-сайт

form-title = Хабарлама жіберу
form-required-note = * белгісі бар өрістерді толтыру міндетті.
form-name-legend = Тегі, аты, әкесінің аты
form-surname = Тегі
form-first-name = Аты
form-patronymic = Әкесінің аты (бар болса)
form-email = Электрондық пошта
form-phone = Телефон нөмірі
form-phone-hint = Мысалы: +7 701 123 45 67
form-message = Хабарлама
form-consent-legend = Келісім
# The consent labels. Each purpose's period comes from `retention_days` in site.toml: $days,
# and $years when the days are a whole number of years (else 0). Never write the period as
# fixed text: `kelisim check` compares it with site.toml. A published label is locked with its
# policy version (policy.lock): change it with `kelisim policy new-version`.
consent-reply = Сұрауыма жауап алу үшін Операторға ({ $operator }) осы нысанда көрсетілген дербес деректерімді (тегі, аты, әкесінің аты, электрондық пошта мекенжайы, телефон нөмірі) және хабарламамды <a href="{ $policy_url }">Дербес деректерді өңдеуге қатысты саясатқа</a> сәйкес өңдеуге келісім беремін. Бұл деректер мен хабарлама жіберілген күннен бастап { $years ->
        [0] { $days } күннен
       *[other] { $years } жылдан
    } аспайтын мерзім сақталады. Осы мерзім өткен соң телефон нөмірі мен хабарлама жойылады. Ақпараттық хаттарға келісім берілмесе, тегі, аты, әкесінің аты және электрондық пошта мекенжайы да жойылады; берілсе, олар сол келісімнің мерзімі ішінде сақталады.
consent-newsletter = Маған ақпараттық хаттар жіберу үшін Операторға ({ $operator }) дербес деректерімді (тегі, аты, әкесінің аты, электрондық пошта мекенжайы) өңдеуге келісім беремін; хаттарда тауарларды, жұмыстарды және көрсетілетін қызметтерді ұсыну болуы мүмкін. Бұл деректер осы мақсат үшін келісім кері қайтарылғанға дейін, бірақ келісім берілген күннен бастап { $years ->
        [0] { $days } күннен
       *[other] { $years } жылдан
    } аспайтын мерзім сақталады (міндетті емес; келісімді кез келген уақытта кері қайтарып алуға болады, <a href="{ $policy_url }">Саясатты</a> қараңыз).
form-honeypot = Бұл өрісті бос қалдырыңыз
form-submit = Жіберу
form-sending = Жіберілуде…
form-success = Рақмет! Хабарламаңыз қабылданды. Оператор жауабын сіз көрсеткен электрондық пошта мекенжайына жібереді.
form-invalid = Нысанда қателер бар. Белгіленген өрістерді тексеріңіз.
form-network-error = Хабарламаны жіберу мүмкін болмады. Интернет байланысын тексеріп, қайталап көріңіз.
form-unavailable = Қызмет уақытша қолжетімсіз. Біраз уақыттан кейін қайталап көріңіз.
form-too-large = Хабарлама тым ұзын. Мәтінді қысқартып, қайта жіберіңіз.
# The signed consent receipt the relay may send back (a file to keep).
receipt-download = Келісім түбіртегін жүктеп алу
receipt-note = Түбіртек – Оператордың кілтімен қол қойылған файл: онда сіз келісім берген саясат нұсқасы мен мақсаттар көрсетілген. Оны сақтап қойыңыз.

error-details-title = Не дұрыс емес
error-back-to-form = Нысанға оралу
error-field-policy = Саясат нұсқасы
error-field-lang = Тіл
error-field-form = Нысан
error-field-kind = Өтініш түрі

nav-request = Дербес деректер бойынша өтініш
contact-rights-note = Дербес деректеріңізге қатысты құқықтарыңызды (білу, түзету, келісімді кері қайтарып алу, бұғаттау, жою) жүзеге асыру үшін <a href="{ $request_url }">өтініш бетін</a> пайдаланыңыз.
policy-rights-note = Осы Саясатта көзделген құқықтарыңызды <a href="{ $request_url }">өтініш беті</a> арқылы жүзеге асыра аласыз.
request-kind-legend = Сіз не сұрайсыз?
request-email-hint = Осы мекенжайға растау сілтемесі жіберіледі. Өтініш тек расталғаннан кейін қаралады.
request-submit = Өтініш жіберу

# The "what changed" page of a policy version (§12.2), generated from the previous version.
policy-changes-link = { $version } нұсқасында не өзгерді
policy-changes-title = Саясаттың { $version } нұсқасындағы өзгерістер
policy-changes-intro = Саясаттың <a href="{ $from_url }">{ $from } нұсқасы</a> мен <a href="{ $url }">{ $version } нұсқасы</a> (күшіне енген күні: { $date }) арасындағы айырмашылық. Алынып тасталған сөздер сызылған, қосылған сөздердің асты сызылған.
policy-changes-none = Мәтін өзгерген жоқ.
policy-changes-added = Қосылды
policy-changes-removed = Алынып тасталды
policy-changes-changed = Өзгертілді

# The page a mailed confirmation link opens: one button confirms (opening the link does not).
link-grant-title = Ақпараттық хаттарға жазылуды растау
link-grant-text = Байланыс нысанында осы электрондық пошта мекенжайы көрсетіліп, Оператордан ақпараттық хаттар алуға келісім берілді. Бұл сіз болсаңыз, жазылуды төмендегі батырмамен растаңыз.
link-grant-button = Жазылуды растау
link-grant-ignore = Жазылмаған болсаңыз, бұл бетті жаба салыңыз: расталмаған келісім күшіне енбейді, басқа ештеңе өзгермейді.
link-request-title = Өтінішті растау
link-request-text = Өтініш бетінде осы электрондық пошта мекенжайы көрсетіліп, Операторға дербес деректер бойынша өтініш жіберілді. Бұл сіз болсаңыз, өтінішті төмендегі батырмамен растаңыз: Оператор өтінішті тек расталғаннан кейін қарайды.
link-request-button = Өтінішті растау
link-request-ignore = Өтініш жібермеген болсаңыз, бұл бетті жаба салыңыз: расталмаған өтініш қаралмайды.
