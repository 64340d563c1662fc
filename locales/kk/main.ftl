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
consent-reply = Сұрауыма жауап алу үшін Операторға ({ $operator }) осы нысанда көрсетілген дербес деректерімді (тегі, аты, әкесінің аты, электрондық пошта мекенжайы, телефон нөмірі) <a href="{ $policy_url }">Дербес деректерді өңдеуге қатысты саясатқа</a> сәйкес өңдеуге келісім беремін. Бұл деректер жіберілген күннен бастап бір жылдан аспайтын мерзім сақталады, содан кейін жойылады.
consent-newsletter = Маған ақпараттық хаттар жіберу үшін Операторға ({ $operator }) тегімді, атымды, әкемнің атын және электрондық пошта мекенжайымды өңдеуге келісім беремін; хаттарда тауарларды, жұмыстарды және көрсетілетін қызметтерді ұсыну болуы мүмкін (міндетті емес; келісімді кез келген уақытта кері қайтарып алуға болады, <a href="{ $policy_url }">Саясатты</a> қараңыз).
form-honeypot = Бұл өрісті бос қалдырыңыз
form-submit = Жіберу
form-sending = Жіберілуде…
form-success = Рақмет! Хабарламаңыз қабылданды. Оператор жауабын сіз көрсеткен электрондық пошта мекенжайына жібереді.
form-invalid = Нысанда қателер бар. Белгіленген өрістерді тексеріңіз.
form-network-error = Хабарламаны жіберу мүмкін болмады. Интернет байланысын тексеріп, қайталап көріңіз.
form-unavailable = Қызмет уақытша қолжетімсіз. Біраз уақыттан кейін қайталап көріңіз.
form-too-large = Хабарлама тым ұзын. Мәтінді қысқартып, қайта жіберіңіз.

error-details-title = Не дұрыс емес
error-back-to-form = Нысанға оралу
error-field-policy = Саясат нұсқасы
error-field-lang = Тіл
error-field-form = Нысан

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
