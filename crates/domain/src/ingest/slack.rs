//! Slack slash commands (`/staunch ack 42`): the command text a responder types in Slack, read
//! into the one incident action it asks for. The form body and its signature are the shell's;
//! this is only the words.

use std::fmt;

/// What a responder asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackCommand {
    Acknowledge { incident_id: i64 },
    Resolve { incident_id: i64 },
    Show { incident_id: i64 },
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackCommandError(pub String);

impl fmt::Display for SlackCommandError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Reads `text` (what follows the command itself): `ack 42`, `resolve #42`, `show 42`, `help`
/// or nothing. Verbs are case-insensitive; `acknowledge` and `status` are accepted too.
pub fn parse_command(text: &str) -> Result<SlackCommand, SlackCommandError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((verb, arguments)) = words.split_first() else {
        return Ok(SlackCommand::Help);
    };
    let verb = verb.to_ascii_lowercase();
    let incident_id = || -> Result<i64, SlackCommandError> {
        let [argument] = arguments else {
            return Err(SlackCommandError(format!("{verb} takes one incident number, e.g. `{verb} 42`")));
        };
        argument
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| SlackCommandError(format!("{argument:?} is not an incident number")))
    };
    match verb.as_str() {
        "ack" | "acknowledge" => Ok(SlackCommand::Acknowledge { incident_id: incident_id()? }),
        "resolve" => Ok(SlackCommand::Resolve { incident_id: incident_id()? }),
        "show" | "status" => Ok(SlackCommand::Show { incident_id: incident_id()? }),
        "help" => Ok(SlackCommand::Help),
        _ => Err(SlackCommandError(format!("unknown command {verb:?}: try ack, resolve, show or help"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<SlackCommand, &str>) {
        assert_eq!(parse_command(text), expected.map_err(|message| SlackCommandError(message.to_string())), "{text:?}");
    }

    #[test]
    fn commands_and_their_mistakes() {
        check("ack 42", Ok(SlackCommand::Acknowledge { incident_id: 42 }));
        check("  ACK   #7 ", Ok(SlackCommand::Acknowledge { incident_id: 7 }));
        check("acknowledge 3", Ok(SlackCommand::Acknowledge { incident_id: 3 }));
        check("resolve 9", Ok(SlackCommand::Resolve { incident_id: 9 }));
        check("status 9", Ok(SlackCommand::Show { incident_id: 9 }));
        check("", Ok(SlackCommand::Help));
        check("help", Ok(SlackCommand::Help));
        check("ack", Err("ack takes one incident number, e.g. `ack 42`"));
        check("ack 1 2", Err("ack takes one incident number, e.g. `ack 42`"));
        check("ack 0", Err("\"0\" is not an incident number"));
        check("resolve $(reboot)", Err("\"$(reboot)\" is not an incident number"));
        check("ack 99999999999999999999", Err("\"99999999999999999999\" is not an incident number"));
        check("page bob", Err("unknown command \"page\": try ack, resolve, show or help"));
    }
}
