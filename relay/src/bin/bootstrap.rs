//! `bootstrap`: the relay as an AWS Lambda function (custom runtime, `provided.al2023`). The
//! modes (the form, the scheduled purge and delivery, the operator's one-shot commands) and
//! all the glue are in `kelisim_relay::lambda`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kelisim_relay::lambda::run(std::env::args().nth(1).as_deref()).await
}
